/**
 * The records of a JSONL event log as they cross from the reading thread to the converting one
 * (src/producer/sources/jsonl-log-ahead.ts): a batch of records as a few flat arrays of numbers
 * and strings, which structured clone copies fast, and events with their values as canonical JSON
 * text, so the receiving thread rebuilds each event without parsing its settings. An event made
 * by the full parser (a line the scanner handed over) is written as text the same way:
 * `stringifyJson` and `parseJson` round-trip every value, 2.0 and 2 included.
 */
import { type PipelineSettingsEvent, DEFAULT_TABLE_NAME } from "../../events/event.js";
import { TextPayloadEvent } from "../../events/event-text.js";
import { stringifyJson } from "../../events/json.js";
import type { LogRecord } from "./jsonl-log.js";

const EVENT = 0;
const END = 1;
const ERROR = 2;

export interface RecordBatch {
  /** Per record: kind (0 event, 1 end, 2 error) and line number. */
  kinds: number[];
  lines: number[];
  /** Per event: seq, timestamp, event type (0 INITIAL, 1 UPDATED). */
  numbers: number[];
  /** Per event: address, repr text, structured text, session id (null when none), table. */
  texts: (string | null)[];
  /** Per end record its time; per error its message. */
  ends: number[];
  messages: string[];
  /** Bytes of the log read when the batch was complete. */
  bytesRead: number;
}

export function newBatch(): RecordBatch {
  return { kinds: [], lines: [], numbers: [], texts: [], ends: [], messages: [], bytesRead: 0 };
}

export function putRecord(batch: RecordBatch, rec: LogRecord): void {
  batch.lines.push(rec.line);
  if (rec.kind === "end") {
    batch.kinds.push(END);
    batch.ends.push(rec.time);
    return;
  }
  if (rec.kind === "error") {
    batch.kinds.push(ERROR);
    batch.messages.push(rec.message);
    return;
  }
  const e = rec.event;
  batch.kinds.push(EVENT);
  batch.numbers.push(e.seq, e.timestamp, e.event_type === "INITIAL" ? 0 : 1);
  const [repr, structured] = e instanceof TextPayloadEvent ? e.valueTexts : [stringifyJson(e.repr_value), stringifyJson(e.structured_value)];
  batch.texts.push(e.component_address, repr, structured, e.source_session_id, e.table_name);
}

/** The records of a batch, in order, as {@link readEventLog} yielded them. */
export function* takeRecords(batch: RecordBatch): Generator<LogRecord> {
  let n = 0;
  let t = 0;
  let end = 0;
  let message = 0;
  for (let i = 0; i < batch.kinds.length; i++) {
    const line = batch.lines[i]!;
    const kind = batch.kinds[i];
    if (kind === END) yield { kind: "end", line, time: batch.ends[end++]! };
    else if (kind === ERROR) yield { kind: "error", line, message: batch.messages[message++]! };
    else {
      const [seq, timestamp, type] = [batch.numbers[n]!, batch.numbers[n + 1]!, batch.numbers[n + 2]!];
      const [address, repr, structured, session, table] = batch.texts.slice(t, t + 5);
      n += 3;
      t += 5;
      const event: PipelineSettingsEvent = new TextPayloadEvent(
        seq,
        timestamp,
        address!,
        type === 0 ? "INITIAL" : "UPDATED",
        repr!,
        structured!,
        session ?? null,
        table ?? DEFAULT_TABLE_NAME, // always set; the default only satisfies the type
      );
      yield { kind: "event", line, event };
    }
  }
}
