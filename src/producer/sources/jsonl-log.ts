/**
 * JSONL event logs for batch runs: one event object per line, in the seed's field names
 * (docs/event-log.md). Blank lines are ignored. A bad line is reported with its file and line
 * number and reading goes on, so one bad line never costs the events around it.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { PipelineSettingsEvent } from "../../events/event.js";
import { parseEvent } from "../../events/event-codec.js";

export type LogRecord =
  | { kind: "event"; line: number; event: PipelineSettingsEvent }
  | { kind: "error"; line: number; message: string };

/** Read a JSONL event log record by record. I/O errors (missing file, …) are thrown. */
export async function* readEventLog(path: string): AsyncGenerator<LogRecord> {
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      const text = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (text.trim() === "") continue;
      try {
        yield { kind: "event", line: lineNo, event: parseEvent(text) };
      } catch (err) {
        yield { kind: "error", line: lineNo, message: `${path}:${lineNo}: ${(err as Error).message}` };
      }
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
