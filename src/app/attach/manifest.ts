/**
 * Batch attach: a manifest names the pairs, one `recording,settings` per line (docs/attach.md).
 * - blank lines and lines starting with `#` are ignored; a first line `recording,settings` is a header;
 * - a field may be double-quoted (a path with a comma), `""` inside quotes is one `"`;
 * - relative paths are relative to the manifest's folder (so a manifest travels with its data);
 * - a recording named twice is an error on its second line (two attaches to one file in one run
 *   would race for its lock).
 * `--shard K/N` takes every pair whose position p (0-based, among the pairs) has p mod N = K: N
 * shards cover every pair exactly once, and a slow stretch of the manifest is spread over shards.
 */
import { isAbsolute, join, resolve } from "node:path";

export interface AttachPair {
  recording: string;
  settings: string;
  /** Where the pair came from: `MANIFEST:LINE`. */
  where: string;
}

export interface Manifest {
  pairs: AttachPair[];
  /** Lines that are not a pair (reported; they count as failed). */
  problems: string[];
}

/** Split one CSV line into fields (RFC 4180 quoting, no line breaks inside a field). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error("a quoted field is not closed");
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ",") throw new Error("text after a closing quote");
    } else {
      const comma = line.indexOf(",", i);
      field = (comma === -1 ? line.slice(i) : line.slice(i, comma)).trim();
      i = comma === -1 ? line.length : comma;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

export function parseManifest(text: string, manifestPath: string): Manifest {
  const base = resolve(manifestPath, "..");
  const pairs: AttachPair[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const where = `${manifestPath}:${i + 1}`;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    let fields: string[];
    try {
      fields = splitCsvLine(line);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
      return;
    }
    if (pairs.length === 0 && problems.length === 0 && fields[0]?.toLowerCase() === "recording" && fields[1]?.toLowerCase() === "settings") return;
    if (fields.length !== 2 || fields[0] === "" || fields[1] === "") {
      problems.push(`${where}: expected "recording,settings", got ${fields.length} field(s)`);
      return;
    }
    const [rec, set] = fields.map((f) => (isAbsolute(f) ? f : join(base, f))) as [string, string];
    const before = seen.get(rec);
    if (before) {
      problems.push(`${where}: ${rec} is already attached to on ${before}; one attach per recording per run`);
      return;
    }
    seen.set(rec, where);
    pairs.push({ recording: rec, settings: set, where });
  });
  return { pairs, problems };
}

/** `K/N` (0 ≤ K < N) → [K, N]; throws with a plain message. */
export function parseShard(text: string): [number, number] {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard needs K/N, e.g. --shard 0/4 (got ${JSON.stringify(text)})`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || k >= n)
    throw new Error(
      `--shard ${text}: K must be 0 … N-1 and N at least 1 (shards are numbered from 0, as Slurm --array=0-… and Kubernetes JOB_COMPLETION_INDEX count)`,
    );
  return [k, n];
}

/** The K-th of N shards: every item whose position p has p mod N = K. */
export function shardOf<T>(items: readonly T[], k: number, n: number): T[] {
  return items.filter((_, p) => p % n === k);
}
