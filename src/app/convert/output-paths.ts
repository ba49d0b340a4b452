/**
 * The paths of one convert run, checked before anything is written: no output may land on an
 * input, the metadata file, another output, or where a segment of another output could go.
 */
import { stat } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { UsageError } from "../../errors.js";
import { segmentPath } from "../../output/segment-names.js";

/** A file's identity (device and inode) when it exists, so a link or another spelling of a path is the same file. */
async function identity(path: string): Promise<string | undefined> {
  return stat(path).then(
    (s) => `${s.dev}:${s.ino}`,
    () => undefined,
  );
}

/** Whether `path` names a segment the output at `base` could take (`segmentPath(base, n)` for some n ≥ 1). */
function couldBeSegmentOf(path: string, base: string): boolean {
  const first = segmentPath(base, 1);
  const ext = extname(first);
  const prefix = first.slice(0, first.length - ext.length - 2);
  return path.startsWith(prefix) && path.endsWith(ext) && /^\d{2,}$/.test(path.slice(prefix.length, path.length - ext.length));
}

/**
 * Refuse, before anything is written, a run where two of its files would land on one path: an
 * output on an input (or the metadata file), two inputs that are one file, two outputs on one
 * path, or (with the typed table, which can rotate) an input or output where a segment would go.
 */
export async function checkPaths(inputs: string[], outputs: string[], meta: string | undefined, rotates: boolean): Promise<void> {
  const readFrom = new Map<string, string>();
  for (const input of [...inputs, ...(meta ? [meta] : [])]) {
    const id = (await identity(input)) ?? `path:${resolve(input)}`;
    const seen = readFrom.get(id);
    if (seen !== undefined && inputs.includes(input)) throw new UsageError(`${input} and ${seen} are the same file; give each input once`);
    readFrom.set(id, input);
  }
  for (const [i, out] of outputs.entries()) {
    const info = await stat(out).catch(() => undefined);
    if (info?.isDirectory()) throw new UsageError(`the output ${out} is a folder; give a file name (or use --out-dir ${out})`);
    const id = (await identity(out)) ?? `path:${resolve(out)}`;
    const clash = readFrom.get(id) ?? [...readFrom.values()].find((p) => resolve(p) === resolve(out));
    if (clash !== undefined) throw new UsageError(`the output ${out} is the input ${clash}; writing it would destroy the input (choose another --out)`);
    if (rotates) {
      for (const input of readFrom.values()) {
        if (couldBeSegmentOf(resolve(input), out))
          throw new UsageError(
            `${input} is named like a segment of the output ${out} (the typed table may rotate into ${basename(input)}); choose another --out`,
          );
      }
      for (const [j, other] of outputs.entries()) {
        if (i !== j && couldBeSegmentOf(other, out))
          throw new UsageError(
            `the outputs ${out} and ${other} could collide (the typed table may rotate ${basename(out)} into ${basename(other)}); rename one input`,
          );
      }
    }
  }
  const dupes = outputs.filter((o, i) => outputs.indexOf(o) !== i);
  if (dupes.length > 0) throw new UsageError(`two inputs would write the same output: ${[...new Set(dupes)].join(", ")}`);
}
