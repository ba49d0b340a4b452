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
import { JsonTextScanner, isScannerRefusal, plainNumberEnd, plainStringEnd, refuse, textAt } from "./json-text.js";

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
  return scanPlainEvent(text) ?? scanAnyEvent(text);
}

/** The keys of an event line, each with Python's `": "` after it, in the order writers use. */
const FIELD_KEYS = [
  '"seq": ',
  '"timestamp": ',
  '"component_address": ',
  '"event_type": ',
  '"repr_value": ',
  '"structured_value": ',
  '"source_session_id": ',
  '"table_name": ',
];
const ALL_REQUIRED = 0b1111; // seq, timestamp, component_address, event_type

/**
 * The common line, read in one pass: the event's own keys only (any order, each once), spelled as
 * Python's `json.dumps` writes them (`", "` and `": "`, no other whitespace), `seq` a plain
 * integer, strings without escapes, `timestamp` a canonical number. The payloads are scanned as
 * anywhere else; a `structured_value` written exactly as the `repr_value` before it (as ezmsg
 * publishes plain settings) is the same text, so it is compared, not scanned again. Anything
 * else, valid or not, returns undefined and {@link scanAnyEvent} decides.
 */
export function scanPlainEvent(t: string): PipelineSettingsEvent | undefined {
  if (t.charCodeAt(0) !== 0x7b) return undefined;
  let p = 1;
  let seen = 0;
  let next = 0;
  let seq = 0;
  let timestamp = 0;
  let address = "";
  let type: PipelineSettingsEventType = "INITIAL";
  let repr = '""';
  let reprFrom = -1; // where repr_value's text is, when it is an object
  let reprLength = 0;
  let structured = "null";
  let session: string | null = null;
  let table = DEFAULT_TABLE_NAME;
  for (;;) {
    let k = next;
    if (k > 7 || !textAt(t, p, FIELD_KEYS[k]!)) {
      k = 0;
      while (k < 8 && !textAt(t, p, FIELD_KEYS[k]!)) k++;
      if (k === 8) return undefined;
    }
    if (seen & (1 << k)) return undefined;
    seen |= 1 << k;
    next = k + 1;
    p += FIELD_KEYS[k]!.length;
    const c = t.charCodeAt(p);
    switch (k) {
      case 0: {
        // A plain integer of at most 16 digits, no leading zero, at most MAX_SAFE.
        let q = p;
        let v = 0;
        for (let d = t.charCodeAt(q); d >= 0x30 && d <= 0x39; d = t.charCodeAt(++q)) v = v * 10 + (d - 0x30);
        if (q === p || q - p > 16 || (c === 0x30 && q - p > 1) || v > MAX_SAFE) return undefined;
        seq = v;
        p = q;
        break;
      }
      case 1: {
        const end = plainNumberEnd(t, p);
        if (end < 0) return undefined;
        timestamp = Number(t.slice(p, end));
        if (!Number.isFinite(timestamp)) return undefined;
        p = end;
        break;
      }
      case 2: {
        if (c !== 0x22) return undefined;
        const end = plainStringEnd(t, p);
        if (end < 0) return undefined;
        address = t.slice(p + 1, end);
        p = end + 1;
        break;
      }
      case 3:
        if (textAt(t, p, '"UPDATED"')) type = "UPDATED";
        else if (textAt(t, p, '"INITIAL"')) type = "INITIAL";
        else return undefined;
        p += 9;
        break;
      case 4: {
        if (c !== 0x22 && c !== 0x7b) return undefined;
        const text = payloadAt(t, p);
        if (text === undefined) return undefined;
        repr = text;
        if (c === 0x7b) {
          reprFrom = p;
          reprLength = scanner.pos - p;
        }
        p = scanner.pos;
        break;
      }
      case 5:
        // Two slices compared natively: several times faster than a loop over the characters.
        if (reprFrom >= 0 && p + reprLength <= t.length && t.slice(p, p + reprLength) === t.slice(reprFrom, reprFrom + reprLength)) {
          structured = repr;
          p += reprLength;
        } else {
          const text = payloadAt(t, p);
          if (text === undefined) return undefined;
          structured = text;
          p = scanner.pos;
        }
        break;
      default: {
        let value: string | null = null;
        if (textAt(t, p, "null")) p += 4;
        else {
          if (c !== 0x22) return undefined;
          const end = plainStringEnd(t, p);
          if (end < 0) return undefined;
          value = t.slice(p + 1, end);
          p = end + 1;
        }
        if (k === 6) session = value;
        else if (value !== null) table = value;
      }
    }
    const d = t.charCodeAt(p);
    if (d === 0x2c && t.charCodeAt(p + 1) === 0x20) {
      p += 2;
      continue;
    }
    if (d !== 0x7d || p + 1 !== t.length || (seen & ALL_REQUIRED) !== ALL_REQUIRED) return undefined;
    return new TextPayloadEvent(seq, timestamp, address, type, repr, structured, session, table);
  }
}

/**
 * The canonical text of the payload value at `at` (a member of the event object), the scanner
 * left at its end; undefined if refused.
 */
function payloadAt(t: string, at: number): string | undefined {
  try {
    scanner.reset(t);
    scanner.pos = at;
    return scanner.canonicalValue(1);
  } catch (err) {
    if (!isScannerRefusal(err) && !(err instanceof Error && err.name === "JsonSyntaxError")) throw err;
    return undefined;
  }
}

/** Any line: what {@link parseEvent} accepts, in any spelling. */
function scanAnyEvent(text: string): PipelineSettingsEvent {
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
