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

interface Scan {
  earliest: number;
  latest: number;
  rows: number;
  /** The end record's time (log clock), when the log has a valid one. */
  end?: number;
  /** Problems found by the first pass (bad lines); the second pass reports them again in order. */
  problems: string[];
  /** Problems only the first pass can see (the end record against all events). */
  endProblems: string[];
}

/** First pass: the earliest and latest timestamps, the end record, and whether any event will produce a row. */
async function scan(input: string, limit: { maxLineBytes?: number }, onBytes?: (n: number) => void): Promise<Scan> {
  let earliest = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  let rows = 0;
  const problems: string[] = [];
  const endProblems: string[] = [];
  let end: { line: number; time: number } | undefined;
  for await (const rec of readEventLog(input, onBytes ? { ...limit, onBytes } : limit)) {
    if (rec.kind === "error") {
      problems.push(rec.message);
      continue;
    }
    if (rec.kind === "end") {
      if (end) endProblems.push(`${input}:${rec.line}: a second end record (the first is on line ${end.line}); ignored`);
      else end = { line: rec.line, time: rec.time };
      continue;
    }
    earliest = Math.min(earliest, rec.event.timestamp);
    latest = Math.max(latest, rec.event.timestamp);
    if (!isSentinel(rec.event)) rows++;
  }
  const out: Scan = { earliest, latest, rows, problems, endProblems };
  if (end && end.time < latest) {
    endProblems.push(`${input}:${end.line}: the end record's timestamp ${end.time} is earlier than an event (${latest}); ignored, the log's end is unknown`);
  } else if (end) {
    out.end = end.time;
  }
  return out;
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
  const { earliest, latest, rows, end, problems, endProblems } = await scan(input, lineLimit, report ? (n) => report(n, 2 * size) : undefined);
  if (rows === 0) {
    result.problems.push(...problems, ...endProblems);
    return result;
  }

  const clock = fileClock(options.timeOrigin, earliest);
  // The metadata's own session_start_time wins over the one derived from the events.
  const meta: NwbMetadata = { ...options.meta, session_start_time: options.meta.session_start_time ?? clock.sessionStartTime };
  const output = new SegmentedOutput(outPath, meta, {
    timestampsReferenceTime: clock.timestampsReferenceTime,
    staged: { tag: options.tag ?? `nwbs-${randomUUID().slice(0, 8)}` },
  });
  const sinks = new SinkSet(options.sinks, output, { expectedEvents: rows });
  // The last interval ends at the log's end time when the log has an end record; otherwise at the
  // latest event time (a state that began then has an unknown end: NaN, see docs/table-sink.md).
  const closeTime = clock.toFileTime(end ?? latest);
  result.problems.push(...endProblems);
  try {
    for await (const rec of readEventLog(input, report ? { ...lineLimit, onBytes: (n) => report(size + n, 2 * size) } : lineLimit)) {
      if (rec.kind === "error") {
        result.problems.push(rec.message);
        continue;
      }
      if (rec.kind === "end") continue;
      const event = { ...rec.event, timestamp: clock.toFileTime(rec.event.timestamp) };
      try {
        await sinks.write(event);
        result.events++;
      } catch (err) {
        if (isFatal(err)) throw err;
        result.problems.push(`${input}:${rec.line}: ${(err as Error).message}`);
      }
    }
    await sinks.close(closeTime);
  } catch (err) {
    // Nothing half-written stays: the staged files go, an earlier output is untouched.
    await output.abort();
    throw err;
  }
  result.outputs = await output.commit(options.overwrite);
  return result;
}
