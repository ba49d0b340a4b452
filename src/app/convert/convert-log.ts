/**
 * Batch conversion of one JSONL event log into one NWB output (one file, or several segments if
 * the typed-column sink rotates). Bad lines are reported as `FILE:LINE: problem` and skipped; every
 * good event is still written. A log without a single row writes no file.
 */
import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import { isSentinel } from "../../events/event.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { isFatal } from "../../errors.js";
import { OutputExistsError, pathExists } from "../../output/segment-names.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import { readEventLog } from "../../producer/sources/jsonl-log.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import { type TimeOrigin, fileClock } from "./time-origin.js";

export interface ConvertOptions {
  sinks: readonly SinkName[];
  timeOrigin: TimeOrigin;
  meta: NwbMetadata;
  overwrite: boolean;
  /** Longest line read (default 64 MiB); set from the worker's heap limit so one line cannot exhaust it. */
  maxLineBytes?: number;
  /** Marks this run's temporary files (`.<name>.<tag>.partial`) so they can be found and removed if the worker dies. */
  tag?: string;
}

export interface ConvertHooks {
  /** Bytes of the input read so far, over both passes (0 … 2 × size). */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export interface ConvertResult {
  input: string;
  /** Files written (segments in order); empty when the log had no rows. */
  outputs: string[];
  events: number;
  /** Problems with single lines or events; the rest of the log was still converted. */
  problems: string[];
  /** Set when the whole input failed (nothing or not everything could be written). */
  error?: string;
}

/** First pass: the earliest timestamp and whether any event will produce a row. */
async function scan(input: string, limit: { maxLineBytes?: number }, onBytes?: (n: number) => void): Promise<{ earliest: number; rows: number; problems: string[] }> {
  let earliest = Number.POSITIVE_INFINITY;
  let rows = 0;
  const problems: string[] = [];
  for await (const rec of readEventLog(input, onBytes ? { ...limit, onBytes } : limit)) {
    if (rec.kind !== "event") {
      problems.push(rec.message);
      continue;
    }
    earliest = Math.min(earliest, rec.event.timestamp);
    if (!isSentinel(rec.event)) rows++;
  }
  return { earliest, rows, problems };
}

export async function convertLog(input: string, outPath: string, options: ConvertOptions, hooks: ConvertHooks = {}): Promise<ConvertResult> {
  const result: ConvertResult = { input, outputs: [], events: 0, problems: [] };
  const inputStat = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${input}: ${err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.message}`);
  });
  if (!inputStat.isFile()) throw new Error(`cannot read ${input}: ${inputStat.isDirectory() ? "it is a directory, not a log file" : "not a regular file"}`);

  if (!options.overwrite && (await pathExists(outPath))) {
    throw new OutputExistsError(`${outPath} already exists; use --overwrite to replace it`);
  }
  const size = inputStat.size;
  const report = hooks.onProgress;
  const lineLimit = options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {};
  const { earliest, rows, problems } = await scan(input, lineLimit, report ? (n) => report(n, 2 * size) : undefined);
  if (rows === 0) {
    result.problems.push(...problems);
    return result;
  }

  const clock = fileClock(options.timeOrigin, earliest);
  // The metadata's own session_start_time wins over the one derived from the events.
  const meta: NwbMetadata = { ...options.meta, session_start_time: options.meta.session_start_time ?? clock.sessionStartTime };
  const output = new SegmentedOutput(outPath, meta, { timestampsReferenceTime: clock.timestampsReferenceTime, staged: { tag: options.tag ?? `nwbs-${randomUUID().slice(0, 8)}` } });
  const sinks = new SinkSet(options.sinks, output);
  let lastTime = 0;
  try {
    for await (const rec of readEventLog(input, report ? { ...lineLimit, onBytes: (n) => report(size + n, 2 * size) } : lineLimit)) {
      if (rec.kind === "error") {
        result.problems.push(rec.message);
        continue;
      }
      const event = { ...rec.event, timestamp: clock.toFileTime(rec.event.timestamp) };
      try {
        await sinks.write(event);
        result.events++;
        lastTime = event.timestamp;
      } catch (err) {
        if (isFatal(err)) throw err;
        result.problems.push(`${input}:${rec.line}: ${(err as Error).message}`);
      }
    }
    await sinks.close(lastTime);
  } catch (err) {
    // Nothing half-written stays: the staged files go, an earlier output is untouched.
    await output.abort();
    throw err;
  }
  result.outputs = await output.commit(options.overwrite);
  return result;
}
