/**
 * Batch conversion of one JSONL event log into one NWB output (one file, or several segments if
 * the typed-column sink rotates). Bad lines are reported as `FILE:LINE: problem` and skipped; every
 * good event is still written. A log without a single row writes no file.
 */
import { stat, unlink } from "node:fs/promises";
import { isSentinel } from "../../events/event.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { OutputError, SegmentedOutput } from "../../output/segmented-output.js";
import { readEventLog } from "../../producer/sources/jsonl-log.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import { type TimeOrigin, fileClock } from "./time-origin.js";
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

/** First pass: the earliest timestamp and whether any event will produce a row. */
async function scan(input: string): Promise<{ earliest: number; rows: number; problems: string[] }> {
  let earliest = Number.POSITIVE_INFINITY;
  let rows = 0;
  const problems: string[] = [];
  for await (const rec of readEventLog(input)) {
    if (rec.kind !== "event") {
      problems.push(rec.message);
      continue;
    }
    earliest = Math.min(earliest, rec.event.timestamp);
    if (!isSentinel(rec.event)) rows++;
  }
  return { earliest, rows, problems };
}

export async function convertLog(input: string, outPath: string, options: ConvertOptions): Promise<ConvertResult> {
  const result: ConvertResult = { input, outputs: [], events: 0, problems: [] };
  const inputStat = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${input}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  });
  if (!inputStat.isFile()) throw new Error(`cannot read ${input}: not a file`);

  const existing = await existingOutputs(outPath);
  if (existing.length > 0 && !options.overwrite) {
    throw new OutputExistsError(`${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; use --overwrite to replace`);
  }

  const { earliest, rows, problems } = await scan(input);
  if (rows === 0) {
    result.problems.push(...problems);
    return result;
  }
  for (const old of existing) await unlink(old);

  const clock = fileClock(options.timeOrigin, earliest);
  // The metadata's own session_start_time wins over the one derived from the events.
  const meta: NwbMetadata = { ...options.meta, session_start_time: options.meta.session_start_time ?? clock.sessionStartTime };
  const output = new SegmentedOutput(outPath, meta, { overwrite: options.overwrite, timestampsReferenceTime: clock.timestampsReferenceTime });
  const sinks = new SinkSet(options.sinks, output);
  let lastTime = 0;
  try {
    for await (const rec of readEventLog(input)) {
      if (rec.kind === "error") {
        result.problems.push(rec.message);
        continue;
      }
      // The record is ours: set file time in place (a copy by spread would drop the payload text).
      const event = rec.event;
      event.timestamp = clock.toFileTime(event.timestamp);
      try {
        await sinks.write(event);
        result.events++;
        lastTime = event.timestamp;
      } catch (err) {
        if (err instanceof OutputError) throw err;
        result.problems.push(`${input}:${rec.line}: ${(err as Error).message}`);
      }
    }
  } finally {
    await sinks.close(lastTime);
    result.outputs = sinks.output.writtenSegments.map((s) => s.path);
  }
  return result;
}
