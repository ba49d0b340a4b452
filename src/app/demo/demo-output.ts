/**
 * The demo's output: recorded under a hidden temporary name and moved into place only once it is
 * complete and closed, so an interrupted or failed demo leaves an earlier file as it was.
 */
import { readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputExistsError } from "../../errors.js";
import { journalPathFor } from "../../journal/format.js";
import { existingOutputFiles, segmentPath } from "../../output/segment-names.js";

/** Where the demo records before it is done: hidden, beside the output. */
export function tempPathFor(outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.demo-${process.pid}.partial.nwb`);
}

/** Without --overwrite an earlier demo output is kept: refuse before anything runs. */
export async function refuseExistingDemo(outPath: string): Promise<void> {
  const previous = await existingOutputFiles(outPath);
  if (previous.length > 0)
    throw new OutputExistsError(`${previous.join(", ")} already exist${previous.length === 1 ? "s" : ""}; leave out --no-overwrite to replace`, outPath);
}

/** Move the finished temporary recording into place (replacing the previous demo output) and drop its journal. */
export async function commitDemo(tempBase: string, outPath: string, written: string[]): Promise<string[]> {
  const finals = written.map((p) => {
    if (p === tempBase) return outPath;
    const n = /_(\d+)\.nwb$/.exec(p)?.[1];
    return segmentPath(outPath, Number(n));
  });
  const previous = await existingOutputFiles(outPath);
  for (const [i, p] of written.entries()) await rename(p, finals[i]!);
  for (const old of previous) if (!finals.includes(old)) await unlink(old).catch(() => undefined);
  // The demo closed cleanly, so its journal holds nothing to recover.
  await unlink(journalPathFor(tempBase)).catch(() => undefined);
  return finals;
}

/** Remove what an unfinished demo wrote under its temporary name. */
export async function removeTemp(tempBase: string): Promise<void> {
  const dir = dirname(tempBase);
  const stem = basename(tempBase, ".nwb");
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (n.startsWith(stem)) await unlink(join(dir, n)).catch(() => undefined);
  }
}
