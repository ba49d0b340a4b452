/**
 * JSONL event logs for batch runs: one event object per line, in the seed's field names
 * (docs/event-log.md). Blank lines are ignored. A bad line is reported with its file and line
 * number and reading goes on, so one bad line never costs the events around it.
 * Lines are split and decoded by events/jsonl-lines.ts (strict UTF-8, `\r\n` accepted).
 */
import type { PipelineSettingsEvent } from "../../events/event.js";
import { scanEvent } from "../../events/event-text.js";
import { type RawLine, type ReadLogOptions, MAX_LINE_BYTES, decodeLine, readRawLineBatches } from "../../events/jsonl-lines.js";

export type LogRecord =
  | { kind: "event"; line: number; event: PipelineSettingsEvent }
  /** The optional end record: when the log ended, on the events' clock (docs/event-log.md). */
  | { kind: "end"; line: number; time: number }
  | { kind: "error"; line: number; message: string };

/** The key of the optional end record line `{"nwb_settings_end": {"timestamp": t}}`. */
export const LOG_END_KEY = "nwb_settings_end";

/** Whether a line is an end record (so it is never read as an event). */
export function isLogEndLine(text: string): boolean {
  return /^\s*\{\s*"nwb_settings_end"\s*:/.test(text);
}

/** The end record's time; throws naming the problem. */
export function decodeLogEnd(text: string): number {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new Error(`end record is not valid JSON (${(err as Error).message})`);
  }
  const end = (obj as Record<string, unknown>)[LOG_END_KEY];
  const t = typeof end === "object" && end !== null ? (end as Record<string, unknown>)["timestamp"] : undefined;
  if (typeof t !== "number" || !Number.isFinite(t)) {
    throw new Error(`end record needs {"${LOG_END_KEY}": {"timestamp": <finite number>}}, got ${JSON.stringify(end)}`);
  }
  return t;
}

/** Read a JSONL event log record by record. I/O errors (missing file, …) are thrown. */
export async function* readEventLog(path: string, options: ReadLogOptions = {}): AsyncGenerator<LogRecord> {
  for await (const batch of readEventLogBatches(path, options)) yield* batch;
}

/**
 * The records of a JSONL event log, in file order, in batches: a reader that walks the arrays pays
 * one promise round trip per batch instead of per line (an async generator's `next()` costs a few
 * microtask turns, ~1 µs per line here). The first batches are small (the first event is not kept
 * waiting for a whole chunk of the log to be read), later ones up to {@link MAX_BATCH_LINES} lines.
 * Batches are never empty. I/O errors (missing file, …) are thrown.
 */
export async function* readEventLogBatches(path: string, options: ReadLogOptions = {}): AsyncGenerator<LogRecord[]> {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  let size = FIRST_BATCH_LINES;
  for await (const lines of readRawLineBatches(path, 1 << 20, options)) {
    for (let from = 0; from < lines.length; ) {
      const to = Math.min(lines.length, from + size);
      const records: LogRecord[] = [];
      for (let i = from; i < to; i++) {
        const record = lineRecord(path, lines[i]!, max);
        if (record !== undefined) records.push(record);
      }
      from = to;
      size = Math.min(MAX_BATCH_LINES, size * 4);
      if (records.length > 0) yield records;
    }
  }
}

const FIRST_BATCH_LINES = 16;
/**
 * Not a whole chunk: a batch's records are alive until the sinks have taken them all, and with the
 * typed-column sink (~4k events/s) a batch of 4,096 lived ~1 s, long enough for V8 to move it to
 * the old generation: peak RSS of a 20k-event typed convert 175 → 200 MiB (measured). 256 lines
 * cost the JSON-row path nothing measurable.
 */
const MAX_BATCH_LINES = 256;

/** What one line of the log is (undefined for a blank line). */
function lineRecord(path: string, raw: RawLine, max: number): LogRecord | undefined {
  const lineNo = raw.line;
  if (raw.tooLong !== undefined) {
    return {
      kind: "error",
      line: lineNo,
      message: `${path}:${lineNo}: line is ${raw.tooLong} bytes, longer than the limit of ${formatLimit(max)} per line; skipped without reading it into memory`,
    };
  }
  let text: string;
  try {
    text = decodeLine(raw.bytes);
  } catch (err) {
    return { kind: "error", line: lineNo, message: `${path}:${lineNo}: ${(err as Error).message}` };
  }
  if (lineNo === 1) text = text.replace(/^\uFEFF/, "");
  if (text.trim() === "") return undefined;
  try {
    if (isLogEndLine(text)) return { kind: "end", line: lineNo, time: decodeLogEnd(text) };
    return { kind: "event", line: lineNo, event: scanEvent(text) };
  } catch (err) {
    return { kind: "error", line: lineNo, message: `${path}:${lineNo}: ${(err as Error).message}` };
  }
}

function formatLimit(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/**
 * A log's records one at a time for a loop that wants no promise per line: {@link take} hands out
 * the records of the batch at hand synchronously; when it returns undefined, {@link more} reads the
 * next batch (false at the end of the log).
 */
export class LogRecordCursor {
  private batch: LogRecord[] = [];
  private at = 0;
  private readonly batches: AsyncGenerator<LogRecord[]>;

  constructor(path: string, options: ReadLogOptions = {}) {
    this.batches = readEventLogBatches(path, options);
  }

  /** The next record if one is at hand; undefined when {@link more} must read on. */
  take(): LogRecord | undefined {
    return this.at < this.batch.length ? this.batch[this.at++] : undefined;
  }

  /** Read the next batch of records; false when the log has no more. */
  async more(): Promise<boolean> {
    const r = await this.batches.next();
    if (r.done) return false;
    this.batch = r.value;
    this.at = 0;
    return true;
  }

  /** The next record, or undefined at the end of the log. */
  async next(): Promise<LogRecord | undefined> {
    return this.take() ?? ((await this.more()) ? this.take() : undefined);
  }

  /** Stop reading (closes the file if the log was not read to its end). */
  async close(): Promise<void> {
    this.batch = [];
    this.at = 0;
    await this.batches.return(undefined);
  }
}
