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
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  for await (const batch of readRawLineBatches(path, 1 << 20, options)) {
    for (const raw of batch) {
      const record = lineRecord(path, raw, max);
      if (record !== undefined) yield record;
    }
  }
}

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
