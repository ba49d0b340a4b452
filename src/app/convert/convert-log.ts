/**
 * Batch conversion of one JSONL event log into one NWB output (one file, or several segments if
 * the typed-column sink rotates). Bad lines are reported as `FILE:LINE: problem` and skipped; every
 * good event is still written. A log without a single row writes no file.
 */
import { stat, unlink } from "node:fs/promises";
import { isSentinel } from "../../events/event.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { isFatal } from "../../errors.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import { type LogRecord, readEventLog } from "../../producer/sources/jsonl-log.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import { type TimeOrigin, fileClock } from "./time-origin.js";
import { memoryExtra, traceMark } from "../trace.js";
import { OutputExistsError, existingOutputs } from "../../output/segment-names.js";

export interface ConvertOptions {
  sinks: readonly SinkName[];
  timeOrigin: TimeOrigin;
  meta: NwbMetadata;
  overwrite: boolean;
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

/** One conversion as the pool runs it: a failure of the whole input becomes the result's `error`. */
export function convertJob(job: { input: string; output: string; options: ConvertOptions }): Promise<ConvertResult> {
  return convertLog(job.input, job.output, job.options).catch(
    (err: unknown): ConvertResult => ({ input: job.input, outputs: [], events: 0, problems: [], error: (err as Error).message }),
  );
}

/**
 * Records read before writing starts, to fix the earliest timestamp (file time is seconds since
 * it): up to the end of the startup snapshot (the `__init_final__` sentinel), or this many. The
 * rest is written in the same pass on the guess that the earliest event is among those (the
 * snapshot's INITIALs carry last-change times); only if a later event is earlier still is the log
 * converted again from a full scan. A log that ends within the look-ahead is exact.
 */
const LOOKAHEAD_RECORDS = 4096;
const FLUSH_ROWS = 1024;
const FLUSH_MS = 500;
/** Logs from this size on are flushed early and often (readable while converting); smaller ones at close. */
const LONG_LOG_BYTES = 1 << 20;

/** Full scan: the earliest timestamp of the log's events. */
async function scanEarliest(input: string): Promise<number> {
  let earliest = Number.POSITIVE_INFINITY;
  for await (const rec of readEventLog(input)) if (rec.kind === "event") earliest = Math.min(earliest, rec.event.timestamp);
  return earliest;
}

export async function convertLog(input: string, outPath: string, options: ConvertOptions): Promise<ConvertResult> {
  SegmentedOutput.preload(); // HDF5 loads while the first lines are read
  const inputStat = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${input}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
  if (!inputStat.isFile()) throw new Error(`cannot read ${input}: not a file`);

  const existing = await existingOutputs(outPath);
  if (existing.length > 0 && !options.overwrite) {
    throw new OutputExistsError(`${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; use --overwrite to replace`);
  }
  const longLog = inputStat.size >= LONG_LOG_BYTES;
  const once = await writePass(input, outPath, options, existing, undefined, longLog);
  if (once !== "earlier event") return once;
  // Outputs not yet replaced when the guess failed are still to be replaced.
  return (await writePass(input, outPath, options, await existingOutputs(outPath), await scanEarliest(input), longLog)) as ConvertResult;
}

/**
 * Convert in one pass. With `knownEarliest` undefined, the earliest time is taken from the first
 * {@link LOOKAHEAD_RECORDS} records; an event earlier than that (only possible when the log is
 * longer) removes what was written and returns "earlier event".
 */
async function writePass(
  input: string,
  outPath: string,
  options: ConvertOptions,
  existing: string[],
  knownEarliest: number | undefined,
  longLog: boolean,
): Promise<ConvertResult | "earlier event"> {
  const result: ConvertResult = { input, outputs: [], events: 0, problems: [] };
  const records = readEventLog(input)[Symbol.asyncIterator]();
  const ahead: LogRecord[] = [];
  let earliest = knownEarliest ?? Number.POSITIVE_INFINITY;
  let guessed = false;
  if (knownEarliest === undefined) {
    for (;;) {
      if (ahead.length === LOOKAHEAD_RECORDS) {
        guessed = true;
        break;
      }
      const r = await records.next();
      if (r.done) break;
      ahead.push(r.value);
      if (r.value.kind !== "event") continue;
      earliest = Math.min(earliest, r.value.event.timestamp);
      // The startup snapshot is complete: later events are normally later.
      if (isSentinel(r.value.event)) {
        guessed = true;
        break;
      }
    }
  }

  const clock = fileClock(options.timeOrigin, earliest);
  // The metadata's own session_start_time wins over the one derived from the events.
  const meta: NwbMetadata = { ...options.meta, session_start_time: options.meta.session_start_time ?? clock.sessionStartTime };
  const output = new SegmentedOutput(outPath, meta, { overwrite: options.overwrite, timestampsReferenceTime: clock.timestampsReferenceTime });
  const sinks = new SinkSet(options.sinks, output);
  let lastTime = 0;
  let rows = 0; // events that make a row (not the sentinel)
  let restart = false;
  // Flush policy (as the recorder's): staged rows stay bounded (memory flat in the log's length)
  // and a long conversion is readable while it runs: after the startup snapshot, then every
  // FLUSH_ROWS rows or FLUSH_MS. A small log (a batch of many) is flushed once, at close.
  let flushedRows = 0;
  let flushedAt = performance.now();
  const stagedRows = (): number => output.segments.reduce((n, s) => n + s.rows, 0) - flushedRows;
  try {
    for (let i = 0; ; i++) {
      let rec: LogRecord;
      if (i < ahead.length) rec = ahead[i]!;
      else {
        const r = await records.next();
        if (r.done) break;
        rec = r.value;
      }
      if (rec.kind === "error") {
        result.problems.push(rec.message);
        continue;
      }
      const event = rec.event;
      if (guessed && event.timestamp < earliest) {
        restart = true;
        break;
      }
      if (!isSentinel(event) && rows++ === 0) {
        // A log without a row writes nothing and leaves existing outputs alone.
        for (const old of existing) await unlink(old);
      }
      // The record is ours: set file time in place (a copy by spread would drop the payload text).
      event.timestamp = clock.toFileTime(event.timestamp);
      try {
        await sinks.write(event);
        if (result.events++ === 0) traceMark("first-event-accepted");
        lastTime = event.timestamp;
      } catch (err) {
        if (isFatal(err)) throw err;
        result.problems.push(`${input}:${rec.line}: ${(err as Error).message}`);
      }
      const staged = stagedRows();
      if (staged > 0 && (staged >= FLUSH_ROWS || (longLog && (isSentinel(event) || performance.now() - flushedAt >= FLUSH_MS)))) {
        sinks.flush();
        flushedRows += staged;
        flushedAt = performance.now();
        if (flushedRows === staged) traceMark("first-rows-flushed");
      }
      if (isSentinel(event)) traceMark("snapshot-written");
    }
  } finally {
    await records.return?.(undefined);
    await sinks.close(lastTime);
    result.outputs = sinks.output.writtenSegments.map((s) => s.path);
  }
  if (restart) {
    for (const path of result.outputs) await unlink(path);
    return "earlier event";
  }
  if (rows === 0) result.events = 0;
  traceMark("closed", () => ({ events: result.events, ...memoryExtra() }));
  return result;
}
