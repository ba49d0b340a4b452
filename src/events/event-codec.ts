/**
 * The event's JSON form (one object, the seed's field names), shared by JSONL logs, the journal and
 * the hub protocol. Decoding validates every field and names the first problem it finds.
 */
import { DEFAULT_TABLE_NAME, EVENT_TYPES, type PipelineSettingsEvent, type PipelineSettingsEventType } from "./event.js";
import { type JsonObject, type JsonParseOptions, type JsonValue, describeJsonValue, isJsonObject, parseJson, stringifyJson } from "./json.js";
import { EventFormatError } from "../errors.js";

export { EventFormatError };

function seqOf(v: JsonValue | undefined): number {
  if (typeof v !== "bigint" || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new EventFormatError(`"seq" must be a non-negative integer below 2^53, got ${describeJsonValue(v)}`);
  }
  return Number(v);
}

function timestampOf(v: JsonValue | undefined): number {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new EventFormatError(`"timestamp" must be a finite number of seconds, got ${describeJsonValue(v)}`);
  }
  return n;
}

function stringOf(field: string, v: JsonValue | undefined): string {
  if (typeof v !== "string") throw new EventFormatError(`"${field}" must be a string, got ${describeJsonValue(v)}`);
  return v;
}

/** Validate a decoded JSON object as an event. Optional fields get the seed's defaults. */
export function eventFromJson(obj: JsonValue): PipelineSettingsEvent {
  if (!isJsonObject(obj)) throw new EventFormatError(`an event must be a JSON object, got ${describeJsonValue(obj)}`);
  const o: JsonObject = obj;
  const eventType = o.get("event_type");
  if (typeof eventType !== "string" || !(EVENT_TYPES as readonly string[]).includes(eventType)) {
    throw new EventFormatError(
      `"event_type" must be "INITIAL" or "UPDATED", got ${typeof eventType === "string" ? JSON.stringify(eventType) : describeJsonValue(eventType)}`,
    );
  }
  const repr = o.get("repr_value");
  if (repr !== undefined && typeof repr !== "string" && !isJsonObject(repr)) {
    throw new EventFormatError(`"repr_value" must be a string or an object, got ${describeJsonValue(repr)}`);
  }
  const structured = o.get("structured_value");
  const session = o.get("source_session_id");
  if (session !== undefined && session !== null && typeof session !== "string") {
    throw new EventFormatError(`"source_session_id" must be a string or null, got ${describeJsonValue(session)}`);
  }
  const table = o.get("table_name");
  return {
    seq: seqOf(o.get("seq")),
    timestamp: timestampOf(o.get("timestamp")),
    component_address: stringOf("component_address", o.get("component_address")),
    event_type: eventType as PipelineSettingsEventType,
    repr_value: repr ?? "",
    structured_value: structured ?? null,
    source_session_id: session ?? null,
    table_name: table === undefined || table === null ? DEFAULT_TABLE_NAME : stringOf("table_name", table),
  };
}

/** Parse one line/message of JSON text into a validated event. */
export function parseEvent(text: string, options?: JsonParseOptions): PipelineSettingsEvent {
  return eventFromJson(parseJson(text, options));
}

export function eventToJsonValue(e: PipelineSettingsEvent): JsonObject {
  return new Map<string, JsonValue>([
    ["seq", BigInt(e.seq)],
    ["timestamp", e.timestamp],
    ["component_address", e.component_address],
    ["event_type", e.event_type],
    ["repr_value", e.repr_value],
    ["structured_value", e.structured_value],
    ["source_session_id", e.source_session_id],
    ["table_name", e.table_name],
  ]);
}

/** One event as one line of JSON (no trailing newline). */
export function serializeEvent(e: PipelineSettingsEvent): string {
  return stringifyJson(eventToJsonValue(e));
}
