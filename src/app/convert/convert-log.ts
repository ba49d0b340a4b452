/**
 * Batch conversion of one JSONL event log into one NWB output (one file, or several segments if
 * the typed-column sink rotates). Bad lines are reported as `FILE:LINE: problem` and skipped; every
 * good event is still written. A log without a single row writes no file.
 *
 * The output is staged (#13): written under hidden temporary names and moved into place only when
 * complete, so a failed or interrupted conversion leaves nothing half-written and the previous
 * output untouched. The log is read once (#15): see {@link convertLog}.
 */
import { randomUUID } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { isFatal } from "../../errors.js";
import { isSentinel } from "../../events/event.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { OutputExistsError, pathExists } from "../../output/segment-names.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import { type LogRecord, LogRecordCursor, readEventLog } from "../../producer/sources/jsonl-log.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import { memoryExtra, traceMark } from "../trace.js";
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
  /**
   * Bytes of the input read so far: 0 … size for the one pass, 0 … 3 × size when the log must be
   * converted again (the first attempt, a full scan and the second write).
   */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Stops the conversion: nothing is written (the staged files are removed) and the input fails as interrupted. */
  signal?: AbortSignal;
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
export function convertJob(job: { input: string; output: string; options: ConvertOptions }, hooks: ConvertHooks = {}): Promise<ConvertResult> {
  return convertLog(job.input, job.output, job.options, hooks).catch(
    (err: unknown): ConvertResult => ({ input: job.input, outputs: [], events: 0, problems: [], error: (err as Error).message }),
  );
}

/**
 * Records read before writing starts, to fix the earliest timestamp (file time is seconds since
 * it): up to the end of the startup snapshot (the `__init_final__` sentinel) or this many. The
 * rest is written in the same pass on the guess that the earliest event is among those (the
 * snapshot's INITIALs carry last-change times); only if a later event is earlier still is the log
 * converted again after a full scan. A log that ends within the look-ahead is exact.
 * The rows to come, which cap the table's chunk size (#12), are counted exactly by a full scan or
 * a look-ahead that reached the end; otherwise a log under {@link LONG_LOG_BYTES} is bounded by its
 * line count (its bytes are counted, not parsed: reading it whole before the first event cost
 * ~100 ms at 1,000 events), and a longer one is not bounded.
 */
const LOOKAHEAD_RECORDS = 4096;
const FLUSH_ROWS = 1024;
const FLUSH_MS = 500;
/** Logs from this size on are flushed early and often; smaller ones at close. */
const LONG_LOG_BYTES = 1 << 20;

/** The log's end record and its latest event time, as the log is read (docs/event-log.md). */
class LogEnd {
  latest = Number.NEGATIVE_INFINITY;
  readonly problems: string[] = [];
  private record: { line: number; time: number } | undefined;

  constructor(private readonly input: string) {}

  see(rec: { line: number; time: number }): void {
    if (this.record) this.problems.push(`${this.input}:${rec.line}: a second end record (the first is on line ${this.record.line}); ignored`);
    else this.record = { line: rec.line, time: rec.time };
  }

  /** The end record's time (log clock), or undefined when there is none or it is earlier than an event (a problem). */
  time(): number | undefined {
    const end = this.record;
    if (end && end.time < this.latest) {
      this.problems.push(
        `${this.input}:${end.line}: the end record's timestamp ${end.time} is earlier than an event (${this.latest}); ignored, the log's end is unknown`,
      );
      return undefined;
    }
    return end?.time;
  }
}

/** Lines of a (short) log: at least as many as its rows. */
async function countLines(input: string): Promise<number> {
  const bytes = await readFile(input);
  let lines = 0;
  for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? lines + 1 : lines;
}

/** What a full scan knows before writing: the earliest timestamp and the rows to come. */
interface Scan {
  earliest: number;
  rows: number;
}

async function scan(input: string, read: Parameters<typeof readEventLog>[1]): Promise<Scan> {
  let earliest = Number.POSITIVE_INFINITY;
  let rows = 0;
  for await (const rec of readEventLog(input, read)) {
    if (rec.kind !== "event") continue;
    earliest = Math.min(earliest, rec.event.timestamp);
    if (!isSentinel(rec.event)) rows++;
  }
  return { earliest, rows };
}

/**
 * Convert one log. It is read once: the earliest time comes from the look-ahead (see
 * {@link LOOKAHEAD_RECORDS}); should a later event be earlier still, the staged output is
 * discarded and the log is scanned and converted again, so the file is the same either way.
 */
export async function convertLog(input: string, outPath: string, options: ConvertOptions, hooks: ConvertHooks = {}): Promise<ConvertResult> {
  const inputStat = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${input}: ${err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.message}`);
  });
  if (!inputStat.isFile()) throw new Error(`cannot read ${input}: ${inputStat.isDirectory() ? "it is a directory, not a log file" : "not a regular file"}`);

  if (!options.overwrite && (await pathExists(outPath))) {
    throw new OutputExistsError(`${outPath} already exists; use --overwrite to replace it`);
  }
  const size = inputStat.size;
  const once = await writePass(input, outPath, options, hooks, size, undefined, { offset: 0, total: size });
  if (once !== "earlier event") return once;
  const report = hooks.onProgress;
  const known = await scan(input, readOptions(options, report && ((n) => report(size + n, 3 * size))));
  return (await writePass(input, outPath, options, hooks, size, known, { offset: 2 * size, total: 3 * size })) as ConvertResult;
}

function readOptions(options: ConvertOptions, onBytes: ((n: number) => void) | undefined): Parameters<typeof readEventLog>[1] {
  return { ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}), ...(onBytes ? { onBytes } : {}) };
}

/**
 * One write of the log. With `known` undefined, the earliest time is taken from the look-ahead;
 * an event earlier than that (only possible when the log is longer) discards what was written and
 * returns "earlier event".
 */
async function writePass(
  input: string,
  outPath: string,
  options: ConvertOptions,
  hooks: ConvertHooks,
  size: number,
  known: Scan | undefined,
  progress: { offset: number; total: number },
): Promise<ConvertResult | "earlier event"> {
  const result: ConvertResult = { input, outputs: [], events: 0, problems: [] };
  const report = hooks.onProgress;
  const records = new LogRecordCursor(input, readOptions(options, report && ((n) => report(progress.offset + n, progress.total))));
  const longLog = size >= LONG_LOG_BYTES;
  const ahead: LogRecord[] = [];
  let earliest = known?.earliest ?? Number.POSITIVE_INFINITY;
  let expectedRows = known?.rows;
  let guessed = false;
  if (!known) {
    let aheadRows = 0;
    for (;;) {
      if (ahead.length === LOOKAHEAD_RECORDS) {
        guessed = true;
        break;
      }
      const r = await records.next();
      if (r === undefined) {
        expectedRows = aheadRows; // the whole log is in the look-ahead
        break;
      }
      ahead.push(r);
      if (r.kind !== "event") continue;
      earliest = Math.min(earliest, r.event.timestamp);
      if (!isSentinel(r.event)) aheadRows++;
      else {
        // The startup snapshot is complete: later events are normally later.
        guessed = true;
        break;
      }
    }
    if (guessed && !longLog) expectedRows = await countLines(input);
  }

  // HDF5 loads while the first events are handed to the sinks (which stage them until a file is
  // needed). Not earlier: loading it is CPU on this thread and would delay reading the first lines.
  SegmentedOutput.preload();
  const clock = fileClock(options.timeOrigin, earliest);
  // The metadata's own session_start_time wins over the one derived from the events.
  const meta: NwbMetadata = { ...options.meta, session_start_time: options.meta.session_start_time ?? clock.sessionStartTime };
  const output = new SegmentedOutput(outPath, meta, {
    timestampsReferenceTime: clock.timestampsReferenceTime,
    staged: { tag: options.tag ?? `nwbs-${randomUUID().slice(0, 8)}` },
  });
  const sinks = new SinkSet(options.sinks, output, expectedRows === undefined ? {} : { expectedEvents: expectedRows });
  const end = new LogEnd(input);
  let rows = 0; // events that make a row (not the sentinel)
  let restart = false;
  // Flush policy (as the recorder's): staged rows stay bounded (memory flat in the log's length)
  // and a long conversion is on disk as it goes: after the startup snapshot, then every
  // FLUSH_ROWS rows or FLUSH_MS. A small log (a batch of many) is flushed once, at close.
  let flushedRows = 0;
  let flushedAt = performance.now();
  const stagedRows = (): number => output.segments.reduce((n, s) => n + s.rows, 0) - flushedRows;
  try {
    for (let i = 0; ; i++) {
      if (hooks.signal?.aborted) throw new Error("interrupted; nothing was written");
      let rec: LogRecord | undefined;
      if (i < ahead.length) rec = ahead[i]!;
      else {
        // The records of a batch at hand are taken without a promise each (~1 µs per line).
        rec = records.take();
        if (rec === undefined) {
          if (!(await records.more())) break;
          rec = records.take()!;
        }
      }
      if (rec.kind === "error") {
        result.problems.push(rec.message);
        continue;
      }
      if (rec.kind === "end") {
        end.see(rec);
        continue;
      }
      const event = rec.event;
      if (guessed && event.timestamp < earliest) {
        restart = true;
        break;
      }
      end.latest = Math.max(end.latest, event.timestamp);
      if (!isSentinel(event)) rows++;
      // The record is ours: set file time in place (a copy by spread would drop the payload text).
      event.timestamp = clock.toFileTime(event.timestamp);
      try {
        const pending = sinks.write(event); // undefined when taken at once (no promise per row)
        if (pending !== undefined) await pending;
        if (result.events++ === 0) traceMark("first-event-accepted");
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
    if (!restart && rows > 0) {
      // The last interval ends at the log's end time when the log has an end record; otherwise at
      // the latest event time (a state that began then has an unknown end: NaN, see docs/table-sink.md).
      await sinks.close(clock.toFileTime(end.time() ?? end.latest));
    }
  } catch (err) {
    // Nothing half-written stays: the staged files go, an earlier output is untouched.
    await records.close();
    await output.abort();
    throw err;
  }
  await records.close();
  if (restart) {
    await output.abort();
    return "earlier event";
  }
  if (rows === 0) {
    // A log without a row writes nothing and leaves an existing output alone.
    end.time();
    await output.abort();
    return { ...result, events: 0, problems: [...result.problems, ...end.problems] };
  }
  result.outputs = await output.commit(options.overwrite);
  result.problems = [...end.problems, ...result.problems];
  traceMark("closed", () => ({ events: result.events, ...memoryExtra() }));
  return result;
}
