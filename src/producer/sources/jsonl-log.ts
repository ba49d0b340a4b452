/**
 * JSONL event logs for batch runs: one event object per line, in the seed's field names
 * (docs/event-log.md). Blank lines are ignored. A bad line is reported with its file and line
 * number and reading goes on, so one bad line never costs the events around it.
 * Lines are split and decoded by events/jsonl-lines.ts (strict UTF-8, `\r\n` accepted).
 */
import type { PipelineSettingsEvent } from "../../events/event.js";
import { scanEvent } from "../../events/event-text.js";
import { decodeLine, readRawLines } from "../../events/jsonl-lines.js";

export type LogRecord =
  | { kind: "event"; line: number; event: PipelineSettingsEvent }
  | { kind: "error"; line: number; message: string };

/** Read a JSONL event log record by record. I/O errors (missing file, …) are thrown. */
export async function* readEventLog(path: string): AsyncGenerator<LogRecord> {
  for await (const raw of readRawLines(path)) {
    const lineNo = raw.line;
    let text: string;
    try {
      text = decodeLine(raw.bytes);
    } catch (err) {
      yield { kind: "error", line: lineNo, message: `${path}:${lineNo}: ${(err as Error).message}` };
      continue;
    }
    if (lineNo === 1) text = text.replace(/^\uFEFF/, "");
    if (text.trim() === "") continue;
    try {
      yield { kind: "event", line: lineNo, event: scanEvent(text) };
    } catch (err) {
      yield { kind: "error", line: lineNo, message: `${path}:${lineNo}: ${(err as Error).message}` };
    }
  }
}
