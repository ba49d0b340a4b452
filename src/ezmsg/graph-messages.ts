/**
 * Turns decoded ezmsg 3.9 replies (inert pickle values) into our types, checking their shape.
 * Classes are matched by name (`SettingsChangedEvent`, …), not by module, so a move inside the
 * ezmsg package does not break us; fields are checked one by one and any mismatch is an
 * {@link EzmsgProtocolError} naming the source and the path of the bad field.
 *
 * Settings values (`repr_value`, `structured_value`) become our lossless {@link JsonValue}:
 * int → bigint, float → number, str, bool, None → null, dict with str keys → Map, list/tuple →
 * array. ezmsg sanitises settings to exactly these types before sending (settingsmeta._sanitize),
 * so anything else (bytes, sets, objects, non-str keys) is rejected as a wrong shape.
 */
import { DEFAULT_MAX_JSON_DEPTH, type JsonValue } from "../events/json.js";
import type { SettingsChangedEvent, SettingsEventType, SettingsValue } from "./settings-types.js";
import { EzmsgProtocolError } from "./errors.js";
import { PickleEnum, PickleObject, describePickleValue, objectFields, type PickleDict, type PickleValue } from "./pickle-values.js";

/**
 * Deepest settings value we convert (dicts/lists inside a settings object): as deep as a JSONL
 * line or the journal can hold it (the value sits at depth 2 of a journal line), so whatever we
 * accept is journaled, recovered and converted like any other event. It was 100: a 150-deep
 * value, which ezmsg carries without trouble, failed its whole reply on every try.
 */
export const MAX_SETTINGS_VALUE_DEPTH = DEFAULT_MAX_JSON_DEPTH - 2;

class ShapeReader {
  constructor(readonly source: string) {}

  fail(path: string, problem: string): never {
    throw new EzmsgProtocolError(this.source, `${path}: ${problem}`);
  }

  /** Fields of an instance of the named class (dataclass state dict). */
  fields(v: PickleValue | undefined, className: string, path: string): PickleDict {
    if (!(v instanceof PickleObject) || v.name !== className) {
      this.fail(path, `expected a ${className}, got ${describePickleValue(v)}`);
    }
    const f = objectFields(v);
    if (f === null) this.fail(path, `${className} has no field dict (state is ${describePickleValue(v.state)})`);
    return f;
  }

  field(fields: PickleDict, name: string, path: string): PickleValue {
    if (!fields.has(name)) this.fail(path, `missing field '${name}'`);
    return fields.get(name)!;
  }

  str(v: PickleValue | undefined, path: string): string {
    if (typeof v !== "string") this.fail(path, `expected str, got ${describePickleValue(v)}`);
    return v;
  }

  optStr(v: PickleValue | undefined, path: string): string | null {
    return v === null ? null : this.str(v, path);
  }

  dict(v: PickleValue | undefined, path: string): PickleDict {
    if (!(v instanceof Map)) this.fail(path, `expected a dict, got ${describePickleValue(v)}`);
    return v;
  }

  list(v: PickleValue | undefined, path: string): PickleValue[] {
    if (!Array.isArray(v)) this.fail(path, `expected a list, got ${describePickleValue(v)}`);
    return v;
  }

  json(v: PickleValue | undefined, path: string, depth = 0): JsonValue {
    if (depth > MAX_SETTINGS_VALUE_DEPTH) this.fail(path, `nested deeper than ${MAX_SETTINGS_VALUE_DEPTH} levels`);
    if (v === null || typeof v === "boolean" || typeof v === "bigint" || typeof v === "number" || typeof v === "string") {
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => this.json(x, `${path}[${i}]`, depth + 1));
    if (v instanceof Map) {
      const out = new Map<string, JsonValue>();
      for (const [k, x] of v) {
        if (typeof k !== "string") this.fail(path, `dict key of type ${describePickleValue(k)} (only str keys are settings data)`);
        out.set(k, this.json(x, `${path}.${k}`, depth + 1));
      }
      return out;
    }
    return this.fail(path, `${describePickleValue(v)} is not settings data (expected None/bool/int/float/str/list/dict)`);
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set<SettingsEventType>(["INITIAL_SETTINGS", "SETTINGS_UPDATED"]);

function settingsValue(r: ShapeReader, v: PickleValue | undefined, path: string): SettingsValue {
  const f = r.fields(v, "SettingsSnapshotValue", path);
  const repr = r.field(f, "repr_value", path);
  if (!(repr instanceof Map) && typeof repr !== "string") {
    r.fail(`${path}.repr_value`, `expected a dict or str, got ${describePickleValue(repr)}`);
  }
  // structured_value has a default (None) in ezmsg; an older/newer producer may omit it.
  const structured = f.has("structured_value") ? f.get("structured_value")! : null;
  if (!(structured instanceof Map) && structured !== null) {
    r.fail(`${path}.structured_value`, `expected a dict or None, got ${describePickleValue(structured)}`);
  }
  return {
    repr_value: r.json(repr, `${path}.repr_value`),
    structured_value: r.json(structured, `${path}.structured_value`),
  };
}

function settingsEvent(r: ShapeReader, v: PickleValue | undefined, path: string): SettingsChangedEvent {
  const f = r.fields(v, "SettingsChangedEvent", path);
  const seqRaw = r.field(f, "seq", path);
  if (typeof seqRaw !== "bigint" || seqRaw < 0n || seqRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
    r.fail(`${path}.seq`, `expected a non-negative int below 2^53, got ${describePickleValue(seqRaw)} ${String(seqRaw)}`);
  }
  const et = r.field(f, "event_type", path);
  const etName = et instanceof PickleEnum ? et.member : null;
  if (etName === null || !EVENT_TYPES.has(etName)) {
    const shown = et instanceof PickleEnum ? `${et.cls.name}(${JSON.stringify(String(et.value))})` : describePickleValue(et);
    r.fail(`${path}.event_type`, `expected SettingsEventType.INITIAL_SETTINGS or SETTINGS_UPDATED, got ${shown}`);
  }
  const ts = r.field(f, "timestamp", path);
  if (typeof ts !== "number" && typeof ts !== "bigint") r.fail(`${path}.timestamp`, `expected a float, got ${describePickleValue(ts)}`);
  const timestamp = Number(ts);
  if (!Number.isFinite(timestamp)) r.fail(`${path}.timestamp`, `not a finite time: ${timestamp}`);
  return {
    seq: Number(seqRaw),
    timestamp,
    component_address: r.str(r.field(f, "component_address", path), `${path}.component_address`),
    event_type: etName as SettingsEventType,
    value: settingsValue(r, r.field(f, "value", path), `${path}.value`),
    source_session_id: r.optStr(r.field(f, "source_session_id", path), `${path}.source_session_id`),
  };
}

/** SESSION_SETTINGS_SNAPSHOT reply: `dict[str, SettingsSnapshotValue]`. */
export function settingsSnapshotFromPickle(v: PickleValue, source: string): Map<string, SettingsValue> {
  const r = new ShapeReader(source);
  const d = r.dict(v, "settings snapshot");
  const out = new Map<string, SettingsValue>();
  for (const [k, x] of d) {
    const addr = r.str(k, "settings snapshot key");
    out.set(addr, settingsValue(r, x, `settings snapshot[${JSON.stringify(addr)}]`));
  }
  return out;
}

/** SESSION_SETTINGS_EVENTS reply: `list[SettingsChangedEvent]`. */
export function settingsEventsFromPickle(v: PickleValue, source: string): SettingsChangedEvent[] {
  const r = new ShapeReader(source);
  return r.list(v, "settings events").map((x, i) => settingsEvent(r, x, `settings events[${i}]`));
}

/** One pushed frame of SESSION_SETTINGS_SUBSCRIBE: a `SettingsChangedEvent`. */
export function settingsEventFromPickle(v: PickleValue, source: string): SettingsChangedEvent {
  return settingsEvent(new ShapeReader(source), v, "settings event");
}

/** A settings snapshot entry with the component's own settings object, still pickled (`serialized`, None if ezmsg could not pickle it). */
export interface SettingsSnapshotEntry {
  value: SettingsValue;
  serialized: Uint8Array | null;
}

/** SESSION_SETTINGS_SNAPSHOT reply, keeping each entry's `serialized` pickle (opaque here). */
export function settingsSnapshotEntriesFromPickle(v: PickleValue, source: string): Map<string, SettingsSnapshotEntry> {
  const r = new ShapeReader(source);
  const d = r.dict(v, "settings snapshot");
  const out = new Map<string, SettingsSnapshotEntry>();
  for (const [k, x] of d) {
    const addr = r.str(k, "settings snapshot key");
    const path = `settings snapshot[${JSON.stringify(addr)}]`;
    const f = r.fields(x, "SettingsSnapshotValue", path);
    const ser = f.has("serialized") ? f.get("serialized")! : null;
    if (ser !== null && !(ser instanceof Uint8Array)) r.fail(`${path}.serialized`, `expected bytes or None, got ${describePickleValue(ser)}`);
    out.set(addr, { value: settingsValue(r, x, path), serialized: ser as Uint8Array | null });
  }
  return out;
}

/** A `SettingsSnapshotValue` on its own (the payload of a successful UPDATE_SETTING_FIELD). */
export function settingsValueFromPickle(v: PickleValue, source: string): SettingsValue {
  return settingsValue(new ShapeReader(source), v, "settings value");
}

/** ezmsg 3.9 `ProcessControlResponse` (reply to SESSION_PROCESS_REQUEST). */
export interface ProcessControlResponse {
  requestId: string;
  ok: boolean;
  payload: Uint8Array | null;
  error: string | null;
  /** `ProcessControlErrorCode` member name (UNROUTABLE_UNIT, TIMEOUT, HANDLER_ERROR, …), or null. */
  errorCode: string | null;
}

export function processControlResponseFromPickle(v: PickleValue, source: string): ProcessControlResponse {
  const r = new ShapeReader(source);
  const path = "process control response";
  const f = r.fields(v, "ProcessControlResponse", path);
  const ok = r.field(f, "ok", path);
  if (typeof ok !== "boolean") r.fail(`${path}.ok`, `expected a bool, got ${describePickleValue(ok)}`);
  const payload = f.get("payload") ?? null;
  if (payload !== null && !(payload instanceof Uint8Array)) r.fail(`${path}.payload`, `expected bytes or None, got ${describePickleValue(payload)}`);
  const code = f.get("error_code") ?? null;
  let errorCode: string | null = null;
  if (code instanceof PickleEnum) errorCode = code.member ?? String(code.value);
  else if (code !== null) r.fail(`${path}.error_code`, `expected a ProcessControlErrorCode or None, got ${describePickleValue(code)}`);
  return {
    requestId: r.str(r.field(f, "request_id", path), `${path}.request_id`),
    ok: ok as boolean,
    payload: payload as Uint8Array | null,
    error: r.optStr(f.get("error") ?? null, `${path}.error`),
    errorCode,
  };
}

/**
 * SESSION_SNAPSHOT reply (`GraphSnapshot`) → the component addresses one session registered, in
 * registration order; `[]` for a session without metadata; null if the session is not connected.
 */
export function sessionComponentsFromPickle(v: PickleValue, sessionId: string, source: string): string[] | null {
  const r = new ShapeReader(source);
  const snap = r.fields(v, "GraphSnapshot", "graph snapshot");
  const sessions = r.dict(r.field(snap, "sessions", "graph snapshot"), "graph snapshot.sessions");
  if (!sessions.has(sessionId)) return null;
  const path = `graph snapshot.sessions[${JSON.stringify(sessionId)}]`;
  const session = r.fields(sessions.get(sessionId), "SnapshotSession", path);
  const metadata = r.field(session, "metadata", path);
  if (metadata === null) return [];
  const meta = r.fields(metadata, "GraphMetadata", `${path}.metadata`);
  const components = r.dict(r.field(meta, "components", `${path}.metadata`), `${path}.metadata.components`);
  return [...components.keys()].map((k) => r.str(k, `${path}.metadata.components key`));
}
