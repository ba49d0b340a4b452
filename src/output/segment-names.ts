/**
 * Names of an output's segment files, and finding them again: `<stem>.nwb`, then `<stem>_01.nwb`,
 * `<stem>_02.nwb`, … One module writes and parses the pattern, so convert, record and recover
 * agree on which files belong to an output.
 */
import { readdir } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { OutputExistsError } from "../errors.js";

/** Files an output would write already exist (and no --overwrite). */
export { OutputExistsError };

/** Path of segment `index` of an output at `basePath` (index 0 is `basePath` itself). */
export function segmentPath(basePath: string, index: number): string {
  if (index === 0) return basePath;
  const ext = extname(basePath) || ".nwb";
  const stem = basename(basePath, extname(basePath));
  return join(dirname(basePath), `${stem}_${String(index).padStart(2, "0")}${ext}`);
}

/** Existing files that an output at `path` would write: the path itself and its `_NN` segments. */
export async function existingOutputs(path: string): Promise<string[]> {
  const dir = dirname(path);
  const ext = extname(path) || ".nwb";
  const stem = basename(path, extname(path));
  const segment = new RegExp(`^${escapeRegExp(stem)}_\\d{2,}${escapeRegExp(ext)}$`);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const found = names.filter((n) => n === basename(path) || segment.test(n)).map((n) => join(dir, n));
  return found.sort();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
