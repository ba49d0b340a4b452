/**
 * Events read from JSON text without building the settings values: each line is validated in
 * full (exactly what {@link parseEvent} accepts) and the payload is kept as its canonical JSON
 * text (src/events/json-text.ts). The JSON-row sink writes that text as it is; `repr_value` and
 * `structured_value` are parsed with the lossless parser only when something reads them (the
 * typed-column sink), once per event, however many sinks read them.
 */
import { DEFAULT_TABLE_NAME, type PipelineSettingsEvent, type PipelineSettingsEventType } from "./event.js";
import { parseEvent } from "./event-codec.js";
import { type JsonValue, parseJson, stringifyJson } from "./json.js";
import { JsonTextScanner, isScannerRefusal, refuse } from "./json-text.js";

/** An event whose `repr_value` and `structured_value` are held as canonical JSON text. */
export class TextPayloadEvent implements PipelineSettingsEvent {
  #reprText: string;
  #structuredText: string;
  #repr: JsonValue | undefined;
  #structured: JsonValue | undefined;

  constructor(
    public seq: number,
    public timestamp: number,
    public component_address: string,
    public event_type: PipelineSettingsEventType,
    reprText: string,
    structuredText: string,
    public source_session_id: string | null,
    public table_name: string,
  ) {
    this.#reprText = reprText;
    this.#structuredText = structuredText;
  }

  get repr_value(): JsonValue {
    if (this.#repr === undefined) this.#repr = parseJson(this.#reprText);
    return this.#repr;
  }

  set repr_value(v: JsonValue) {
    this.#repr = v;
    this.#reprText = stringifyJson(v);
  }

  get structured_value(): JsonValue {
    if (this.#structured === undefined) this.#structured = parseJson(this.#structuredText);
    return this.#structured;
  }

  set structured_value(v: JsonValue) {
    this.#structured = v;
    this.#structuredText = stringifyJson(v);
  }

  /** `stringifyJson(settingsPayload(this))`, without parsing: structured value when present, else repr. */
  get payloadText(): string {
    return this.#structuredText !== "null" ? this.#structuredText : this.#reprText;
  }

  /** The event as a plain object with parsed values (for code that copies events with spread). */
  toPlain(): PipelineSettingsEvent {
    return {
      seq: this.seq,
      timestamp: this.timestamp,
      component_address: this.component_address,
      event_type: this.event_type,
      repr_value: this.repr_value,
      structured_value: this.structured_value,
      source_session_id: this.source_session_id,
      table_name: this.table_name,
    };
  }
}

const scanner = new JsonTextScanner();
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The value of a canonical JSON string literal (canonical: escapes only where JSON.stringify writes them). */
function stringValue(canonical: string): string {
  return canonical.includes("\\") ? (JSON.parse(canonical) as string) : canonical.slice(1, -1);
}

/**
 * Parse one line/message of JSON text into a validated event, keeping the payload as text.
 * Accepts and rejects exactly what {@link parseEvent} does, with the same error messages.
 */
export function scanEvent(text: string): PipelineSettingsEvent {
  let seq: string | undefined;
  let timestamp: string | undefined;
  let address: string | undefined;
  let eventType: string | undefined;
  let repr: string | undefined;
  let structured: string | undefined;
  let session: string | undefined;
  let table: string | undefined;
  try {
    const s = scanner;
    s.reset(text);
    s.skipWs();
    s.expect(s.peek() === 0x7b);
    s.pos++;
    s.skipWs();
    if (s.peek() !== 0x7d) {
      for (let first = true; ; first = false) {
        s.skipWs();
        const key = s.key();
        s.addKey(1, key, first);
        s.skipWs();
        s.expect(s.peek() === 0x3a);
        s.pos++;
        s.skipWs();
        const value = s.canonicalValue(1);
        switch (key) {
          case "seq":
            seq = value;
            break;
          case "timestamp":
            timestamp = value;
            break;
          case "component_address":
            address = value;
            break;
          case "event_type":
            eventType = value;
            break;
          case "repr_value":
            repr = value;
            break;
          case "structured_value":
            structured = value;
            break;
          case "source_session_id":
            session = value;
            break;
          case "table_name":
            table = value;
            break;
        }
        s.skipWs();
        const c = s.peek();
        if (c === 0x2c) {
          s.pos++;
          continue;
        }
        s.expect(c === 0x7d);
        break;
      }
    }
    s.pos++;
    s.skipWs();
    s.expect(s.pos === text.length);
    // The checks of eventFromJson; any failure is reported by it (below), in its order and words.
    let type: PipelineSettingsEventType;
    if (eventType === '"INITIAL"') type = "INITIAL";
    else if (eventType === '"UPDATED"') type = "UPDATED";
    else refuse();
    if (repr !== undefined && repr.charCodeAt(0) !== 0x22 && repr.charCodeAt(0) !== 0x7b) refuse();
    if (session !== undefined && session !== "null" && session.charCodeAt(0) !== 0x22) refuse();
    if (seq === undefined || !/^\d{1,16}$/.test(seq) || Number(seq) > MAX_SAFE) refuse();
    const t = timestamp === undefined ? Number.NaN : Number(timestamp);
    if (!Number.isFinite(t)) refuse();
    if (address === undefined || address.charCodeAt(0) !== 0x22) refuse();
    if (table !== undefined && table !== "null" && table.charCodeAt(0) !== 0x22) refuse();
    return new TextPayloadEvent(
      Number(seq),
      t,
      stringValue(address),
      type,
      repr ?? '""',
      structured ?? "null",
      session === undefined || session === "null" ? null : stringValue(session),
      table === undefined || table === "null" ? DEFAULT_TABLE_NAME : stringValue(table),
    );
  } catch (err) {
    if (!isScannerRefusal(err) && !(err instanceof Error && err.name === "JsonSyntaxError")) throw err;
    // The parser names the problem (or, should the scanner ever refuse good input, decodes it).
    return parseEvent(text);
  }
}
