/**
 * The settings hub's wire protocol (docs/protocol.md): one JSON object per WebSocket text message,
 * encoded and parsed with our lossless JSON (`src/events/json.ts`) so integers stay integers,
 * floats stay floats and NaN/Infinity survive. This module holds message names, error codes, the
 * event's wire form and the validation of every message a peer can send. No I/O here.
 */
import { DEFAULT_MAX_JSON_DEPTH, type JsonObject, type JsonValue, describeJsonValue, isJsonObject, parseJson, stringifyJson } from "../../events/json.js";
import type { SettingsValue, SourceEventType, SourceSettingsEvent } from "../source.js";
import { type StreamDeclaration, parseStreamDeclaration } from "./stream-protocol.js";

export const HUB_PROTOCOL_VERSION = 1n;
export const HUB_SERVER_NAME = "nwb-settings-hub";

/** Close codes the hub uses (besides ws's own 1009 "message too big"). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  tryAgainLater: 1013,
  /** The reader fell too far behind (events it still needed were discarded, or it lagged past the bound). */
  slowReader: 4008,
  /** The peer does not read its replies (outgoing buffer past the bound). */
  notReading: 4009,
} as const;

export type HubErrorCode =
  | "bad_json"
  | "bad_request"
  | "unknown_type"
  | "bad_settings"
  | "unknown_component"
  | "conflict"
  | "limit_exceeded"
  | "message_too_large"
  | "closed"
  | "timeout"
  | "slow_reader"
  | "bad_stream"
  | "bad_frame"
  | "unknown_stream"
  | "not_delivered";

/** An error the hub reported, or a failure of the connection to it. `code` is one of {@link HubErrorCode}. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = "HubError";
  }
}

/** Requests (client → hub). Every request carries an `id` (string or integer) echoed in its reply. */
export type RequestId = string | bigint;

export type HubRequest =
  | { type: "register"; id: RequestId; component: string; value: SettingsValue; session: string | null }
  | { type: "update"; id: RequestId; component: string; value: SettingsValue }
  | { type: "snapshot"; id: RequestId }
  | { type: "events"; id: RequestId; afterSeq: number }
  | { type: "subscribe"; id: RequestId; afterSeq: number }
  | { type: "unsubscribe"; id: RequestId; subscription: RequestId }
  | { type: "session_components"; id: RequestId; session: string }
  | { type: "declare_stream"; id: RequestId; declaration: StreamDeclaration }
  | { type: "end_stream"; id: RequestId; handle: number }
  | { type: "subscribe_streams"; id: RequestId }
  | { type: "apply"; id: RequestId; component: string; settings: JsonObject };

export const REQUEST_TYPES = [
  "register",
  "update",
  "snapshot",
  "events",
  "subscribe",
  "unsubscribe",
  "session_components",
  "declare_stream",
  "end_stream",
  "subscribe_streams",
  "apply",
] as const;

/** A request the hub could not accept; `id` is null when the message had no usable id. */
export class RequestError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly id: RequestId | null,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

function seqField(o: JsonObject, field: string, id: RequestId): number {
  const v = o.get(field);
  if (typeof v !== "bigint" || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RequestError("bad_request", `"${field}" must be a non-negative integer, got ${describeJsonValue(v)}`, id);
  }
  return Number(v);
}

function stringField(o: JsonObject, field: string, id: RequestId, nonEmpty = true): string {
  const v = o.get(field);
  if (typeof v !== "string" || (nonEmpty && v === "")) {
    throw new RequestError(
      "bad_request",
      `"${field}" must be a ${nonEmpty ? "non-empty " : ""}string, got ${v === "" ? "an empty string" : describeJsonValue(v)}`,
      id,
    );
  }
  return v;
}

function idOf(v: JsonValue | undefined): RequestId | null {
  return typeof v === "string" || typeof v === "bigint" ? v : null;
}

function settingsValueOf(o: JsonObject, id: RequestId): SettingsValue {
  const settings = o.get("settings");
  if (!isJsonObject(settings)) {
    throw new RequestError("bad_settings", `"settings" must be a JSON object, got ${describeJsonValue(settings)}`, id);
  }
  const repr = o.get("repr");
  if (repr !== undefined && typeof repr !== "string" && !isJsonObject(repr)) {
    throw new RequestError("bad_settings", `"repr" must be a string or an object, got ${describeJsonValue(repr)}`, id);
  }
  return { repr_value: repr ?? settings, structured_value: settings };
}

/**
 * Deepest client message the hub parses: the limit of every other JSON reader here (a JSONL log
 * line, the journal), so a settings value the hub accepts (at depth 2 of a request, as in a
 * journal line) can always be journaled, recovered and converted.
 */
export const MAX_REQUEST_DEPTH = DEFAULT_MAX_JSON_DEPTH;

/**
 * Deepest hub message a client parses. A settings value sits up to 3 levels deeper in what the
 * hub sends (`events` reply → events → event → value) than in the request that carried it; a
 * reader with the same limit as the hub would fail on an event the hub accepted, and fail again
 * on every resume (the event stays in history), losing everything after it.
 */
export const MAX_REPLY_DEPTH = MAX_REQUEST_DEPTH + 16;

/** Parse and validate one client message. Throws {@link RequestError} (with the id when known). */
export function parseRequest(text: string): HubRequest {
  let doc: JsonValue;
  try {
    doc = parseJson(text, { maxDepth: MAX_REQUEST_DEPTH });
  } catch (err) {
    throw new RequestError("bad_json", `malformed JSON: ${(err as Error).message}`, null);
  }
  if (!isJsonObject(doc)) throw new RequestError("bad_request", `a message must be a JSON object, got ${describeJsonValue(doc)}`, null);
  const rawId = doc.get("id");
  const id = idOf(rawId);
  if (id === null) throw new RequestError("bad_request", `"id" must be a string or an integer, got ${describeJsonValue(rawId)}`, null);
  const type = doc.get("type");
  if (typeof type !== "string") throw new RequestError("bad_request", `"type" must be a string, got ${describeJsonValue(type)}`, id);
  switch (type) {
    case "register": {
      const session = doc.get("session");
      if (session !== undefined && session !== null && typeof session !== "string") {
        throw new RequestError("bad_request", `"session" must be a string or null, got ${describeJsonValue(session)}`, id);
      }
      return { type, id, component: stringField(doc, "component", id), value: settingsValueOf(doc, id), session: session ?? null };
    }
    case "update":
      return { type, id, component: stringField(doc, "component", id), value: settingsValueOf(doc, id) };
    case "snapshot":
      return { type, id };
    case "events":
    case "subscribe":
      return { type, id, afterSeq: seqField(doc, "after_seq", id) };
    case "unsubscribe": {
      const sub = idOf(doc.get("subscription"));
      if (sub === null) throw new RequestError("bad_request", `"subscription" must be the id of a subscribe request`, id);
      return { type, id, subscription: sub };
    }
    case "session_components":
      return { type, id, session: stringField(doc, "session", id, false) };
    case "declare_stream":
      try {
        return { type, id, declaration: parseStreamDeclaration(doc) };
      } catch (err) {
        throw new RequestError("bad_stream", (err as Error).message, id);
      }
    case "end_stream": {
      const h = doc.get("handle");
      if (typeof h !== "bigint" || h < 0n || h > 0xffffffffn)
        throw new RequestError("bad_request", `"handle" must be a stream handle, got ${describeJsonValue(h)}`, id);
      return { type, id, handle: Number(h) };
    }
    case "subscribe_streams":
      return { type, id };
    case "apply":
      return { type, id, component: stringField(doc, "component", id), settings: settingsValueOf(doc, id).structured_value as JsonObject };
    default:
      throw new RequestError("unknown_type", `unknown message type ${JSON.stringify(type)} (known: ${REQUEST_TYPES.join(", ")})`, id);
  }
}

/** Build a message object: a `Map` in the given key order, ready for {@link stringifyJson}. */
export function message(entries: Record<string, JsonValue>): JsonObject {
  return new Map(Object.entries(entries));
}

export function errorMessage(id: RequestId | null, code: HubErrorCode, text: string): string {
  return stringifyJson(message({ type: "error", id, code, message: text }));
}

// ---------------------------------------------------------------------------------------------
// The event's wire form
// ---------------------------------------------------------------------------------------------

export function settingsValueToJson(v: SettingsValue): JsonObject {
  return message({ repr_value: v.repr_value, structured_value: v.structured_value });
}

export function eventToJson(e: SourceSettingsEvent): JsonObject {
  return message({
    seq: BigInt(e.seq),
    timestamp: e.timestamp,
    component_address: e.component_address,
    event_type: e.event_type,
    value: settingsValueToJson(e.value),
    source_session_id: e.source_session_id,
  });
}

export function settingsValueFromJson(v: JsonValue | undefined, where: string): SettingsValue {
  if (!isJsonObject(v)) throw new HubError("bad_request", `${where}: expected an object with repr_value and structured_value, got ${describeJsonValue(v)}`);
  if (!v.has("repr_value") || !v.has("structured_value")) throw new HubError("bad_request", `${where}: missing repr_value or structured_value`);
  return { repr_value: v.get("repr_value")!, structured_value: v.get("structured_value")! };
}

export function eventFromJson(v: JsonValue | undefined, where = "event"): SourceSettingsEvent {
  if (!isJsonObject(v)) throw new HubError("bad_request", `${where}: expected an object, got ${describeJsonValue(v)}`);
  const seq = v.get("seq");
  if (typeof seq !== "bigint" || seq < 0n || seq > BigInt(Number.MAX_SAFE_INTEGER))
    throw new HubError("bad_request", `${where}: "seq" must be a non-negative integer, got ${describeJsonValue(seq)}`);
  const ts = v.get("timestamp");
  const timestamp = typeof ts === "bigint" ? Number(ts) : ts;
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp))
    throw new HubError("bad_request", `${where}: "timestamp" must be a finite number, got ${describeJsonValue(ts)}`);
  const address = v.get("component_address");
  if (typeof address !== "string") throw new HubError("bad_request", `${where}: "component_address" must be a string, got ${describeJsonValue(address)}`);
  const type = v.get("event_type");
  if (type !== "INITIAL_SETTINGS" && type !== "SETTINGS_UPDATED")
    throw new HubError("bad_request", `${where}: unknown "event_type" ${describeJsonValue(type)}`);
  const session = v.get("source_session_id");
  if (session !== null && session !== undefined && typeof session !== "string")
    throw new HubError("bad_request", `${where}: "source_session_id" must be a string or null`);
  return {
    seq: Number(seq),
    timestamp,
    component_address: address,
    event_type: type as SourceEventType,
    value: settingsValueFromJson(v.get("value"), `${where}.value`),
    source_session_id: session ?? null,
  };
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
