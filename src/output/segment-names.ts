/**
 * Names of an output's segment files, and finding them again, recognised by what they are, never
 * by name alone. One module writes and parses the pattern, so convert, record, recover and demo
 * agree on which files belong to an output.
 *
 * An output is its first file `<stem>.nwb` and, when a writer rotated, segments `<stem>_01.nwb`,
 * `<stem>_02.nwb`, … A DANDI-named output (`sub-<id>…`, as `convert --dandi-names` makes) keeps
 * DANDI's naming in its segments: `<stem>_desc-seg01.nwb`. Every segment of one output carries the
 * same NWB `identifier` as the first file (SegmentedOutput writes it so). A file named like a
 * segment is taken for one only when it is an NWB file with that identifier and every segment
 * before it is one too: `session_2024.nwb` or a stray `session_01.nwb` of another recording is
 * never ours.
 */
import { stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { OutputExistsError } from "../errors.js";
import { h5wasm, openHdf5 } from "../nwb/hdf5/h5wasm.js";

/** Files an output would write already exist (and no --overwrite). */
export { OutputExistsError };

/** `<stem>.nwb` for index 0, `<stem>_NN.nwb` (two digits at least) after. */
export function segmentPath(basePath: string, index: number): string {
  if (index === 0) return basePath;
  const ext = extname(basePath) || ".nwb";
  const stem = basename(basePath, extname(basePath));
  return join(dirname(basePath), `${stem}${segmentInfix(stem)}${String(index).padStart(2, "0")}${ext}`);
}

/** `_desc-seg` for a DANDI file name (sub-<label>[_ses-<label>]…), else `_`. */
function segmentInfix(stem: string): string {
  return /^sub-[^_]+(_[a-z]+-[^_]+)*$/.test(stem) ? "_desc-seg" : "_";
}

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The NWB `identifier` of a file, or undefined when it is not a readable NWB file. */
export async function readNwbIdentifier(path: string): Promise<string | undefined> {
  if (
    !(await stat(path).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return undefined;
  let file: InstanceType<typeof h5wasm.File> | undefined;
  try {
    ({ file } = await openHdf5(path, "r"));
    if (file.attrs["neurodata_type"]?.value !== "NWBFile") return undefined;
    const id = file.get("identifier");
    if (!(id instanceof h5wasm.Dataset)) return undefined;
    const v = id.value;
    return typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;
  } catch {
    return undefined;
  } finally {
    try {
      file?.close();
    } catch {
      // already unusable
    }
  }
}

/**
 * Existing segments (index ≥ 1) of the output at `basePath` whose identifier is `identifier`
 * (default: the first file's), contiguous from `_01`.
 */
export async function segmentsOf(basePath: string, identifier?: string): Promise<string[]> {
  const id = identifier ?? (await readNwbIdentifier(basePath));
  if (id === undefined) return [];
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const p = segmentPath(basePath, i);
    if ((await readNwbIdentifier(p)) !== id) break;
    out.push(p);
  }
  return out;
}

/** Files of the output at `basePath` that exist now: the first file (whatever it is) and its segments. */
export async function existingOutputFiles(basePath: string, identifier?: string): Promise<string[]> {
  const out: string[] = [];
  if (await pathExists(basePath)) out.push(basePath);
  out.push(...(await segmentsOf(basePath, identifier)));
  return out;
}
