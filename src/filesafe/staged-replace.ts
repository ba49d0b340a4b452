/**
 * Change a precious file without ever putting it at risk: copy, change the copy, replace.
 *
 *  1. the file is copied to a hidden sibling `.<name>.<STAGE_MARK>-<tag>.partial` (same folder, so
 *     the same file system: the final rename is atomic), with the original's permission bits;
 *  2. the caller changes the copy (the original is never opened for writing);
 *  3. the copy is fsync'ed; the original is checked to be the same file, unchanged since step 1
 *     (size, modification time, inode), so the replacement loses nothing another program wrote;
 *  4. `rename(copy, file)` replaces the file atomically, then the folder is fsync'ed.
 *
 * A kill -9 (or power loss) at any instant leaves the file either exactly as it was (before step 4:
 * only the copy was written) or the complete, fsync'ed new version (after step 4's rename). The
 * interrupted copy is a leftover the next run removes ({@link removeLeftovers}).
 * What it costs: one copy of the file (time ≈ the disk's copy speed; free space for one copy), and
 * the file gets a new inode (hard links keep the old version, so a file with several links is
 * refused by the caller's preflight; ownership becomes the running user's).
 *
 * This module knows files, nothing of NWB or events.
 */
import { constants, closeSync, fsyncSync, openSync } from "node:fs";
import { copyFile, chmod, readdir, rename, stat, statfs, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Marks the staged copies of this module's callers (so a leftover is never mistaken). */
export const STAGE_MARK = "nwbs-attach";

export function stagedCopyPath(file: string, tag: string): string {
  return join(dirname(file), `.${basename(file)}.${STAGE_MARK}-${tag}.partial`);
}

/** The staged copies of `file` left in its folder (by an interrupted run). */
export async function findLeftovers(file: string): Promise<string[]> {
  const prefix = `.${basename(file)}.${STAGE_MARK}-`;
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix) && n.endsWith(".partial")).map((n) => join(dirname(file), n));
}

/**
 * Remove leftovers of interrupted runs on `file`. Call only while holding the file's lock (a live
 * run on the same file would hold it). Returns the removed paths.
 */
export async function removeLeftovers(file: string): Promise<string[]> {
  const removed: string[] = [];
  for (const p of await findLeftovers(file)) {
    await unlink(p);
    removed.push(p);
  }
  return removed;
}

/** What a replacement needs of the disk and the file, checked before anything is written. */
export async function replacementProblem(file: string): Promise<string | undefined> {
  const s = await stat(file);
  if (!s.isFile()) return "it is not a regular file";
  if (s.nlink > 1) return `it has ${s.nlink} hard links; replacing it would leave the other names on the old version`;
  const fs = await statfs(dirname(file));
  const free = Number(fs.bavail) * Number(fs.bsize);
  const need = s.size + 16 * 1024 * 1024;
  if (free < need) return `its folder has ${(free / 2 ** 20).toFixed(0)} MiB free; a safe attach needs a copy of the file (${(need / 2 ** 20).toFixed(0)} MiB)`;
  return undefined;
}

export interface StagedChange {
  /** The copy to change. */
  readonly copy: string;
  /** Timings in ms: copy, change, sync, replace. */
  readonly timings: Record<string, number>;
}

export interface StagedReplaceHooks {
  /** Called at each phase boundary (for progress and tests): "copy", "change", "sync", "replace", "done". */
  onPhase?: (phase: string) => void;
  /** Checked before the replacement; when it returns a reason, the copy is removed and nothing is replaced. */
  cancelled?: () => string | undefined;
}

/** Thrown when the original changed under us or the run was cancelled: the file is untouched. */
export class ReplaceAbandonedError extends Error {}

/**
 * Copy `file`, let `change` modify the copy, and atomically replace `file` with it. If `change`
 * throws (or the run is cancelled, or the original changed meanwhile) the copy is removed and
 * `file` is untouched; the error is rethrown.
 */
export async function replaceViaCopy<T>(
  file: string,
  tag: string,
  change: (copy: string) => Promise<T>,
  hooks: StagedReplaceHooks = {},
): Promise<{ result: T; timings: Record<string, number> }> {
  const copy = stagedCopyPath(file, tag);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  const before = await stat(file);
  hooks.onPhase?.("copy");
  let result: T;
  try {
    await copyFile(file, copy, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await chmod(copy, before.mode & 0o7777);
    lap("copy");
    hooks.onPhase?.("change");
    result = await change(copy);
    lap("change");
    hooks.onPhase?.("sync");
    fsyncFile(copy);
    lap("sync");
    const after = await stat(file);
    if (after.ino !== before.ino || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ReplaceAbandonedError(
        `${file} changed while it was being attached to (a program that takes no file lock wrote it); it was left as that program wrote it`,
      );
    }
    const why = hooks.cancelled?.();
    if (why !== undefined) throw new ReplaceAbandonedError(`${why}; ${file} was left unchanged`);
    hooks.onPhase?.("replace");
    await rename(copy, file);
  } catch (err) {
    await unlink(copy).catch(() => undefined);
    throw err;
  }
  // Replaced: from here on the file is the new version; make the rename itself durable.
  try {
    fsyncFile(dirname(file));
  } catch {
    // a folder that cannot be fsync'ed (some network file systems): the rename stands
  }
  lap("replace");
  hooks.onPhase?.("done");
  return { result, timings };
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
