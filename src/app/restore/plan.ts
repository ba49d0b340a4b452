/**
 * What `restore` would do: the recorded state at T against the pipeline's live settings, field by
 * field. A field is
 *
 * - `match`: the live value already equals the recorded one (type for type: 2 ≠ 2.0; NaN = NaN);
 * - `change`: it differs and can be set — `value` is what is sent, a plain value only (see
 *   ezmsg/pickle-writer.ts), shaped by the live object where we know it: a tuple field gets a
 *   tuple back, a float field a float even when a JSON publisher recorded `2` for `2.0`;
 * - `cannot`: it differs and is not set, with the reason — the field no longer exists, the live
 *   field is not a plain value (an enum, an array, a set, bytes, any other object: writing a list
 *   or a string into it would change its type), or only a repr string was recorded.
 *
 * Nested dataclasses are walked with dotted paths (`filter.cutoff_hz`), which ezmsg's
 * UPDATE_SETTING_FIELD applies with dataclass `replace` at each level; a field that is a real
 * dict is sent whole. A component that is in the file at T but not in the pipeline is `gone`;
 * live components the file has no state for at T are listed and left alone.
 */
import { formatFloat, isJsonObject, stringifyJson, type JsonValue } from "../../events/json.js";
import { PickleEnum, PickleObject, PickleReduced, PickleSet, describePickleValue, objectFields, type PickleValue } from "../../ezmsg/pickle-values.js";
import { PyTuple, type PickleWritable } from "../../ezmsg/pickle-writer.js";
import type { SettingsState } from "./file-state.js";

/** A component as the target pipeline holds it now. */
export interface LiveComponent {
  /** Its settings as plain JSON (ezmsg's `structured_value`; the hub's settings). */
  structured: JsonValue;
  /** Its settings object decoded inertly (ezmsg `serialized`), when known; guides types. */
  object?: PickleValue | null;
  /** Arrays of `object` that were Python tuples. */
  tuples?: WeakSet<object>;
}

export type FieldPlan =
  | { path: string; kind: "match"; value: JsonValue }
  | { path: string; kind: "change"; from: JsonValue; to: JsonValue; value: PickleWritable }
  | { path: string; kind: "cannot"; from?: JsonValue; to: JsonValue; reason: string };

export interface ComponentPlan {
  component: string;
  /** `present`: in both; `gone`: in the file at T, not in the pipeline. */
  status: "present" | "gone" | "unreadable";
  /** Why the whole component cannot be set (gone, no structured value, …). */
  reason?: string;
  /** File time of the row the state comes from. */
  time: number;
  recorded: JsonValue;
  fields: FieldPlan[];
  /** Live fields the recorded state does not have (left as they are). */
  extraFields: string[];
}

export interface RestorePlan {
  at: number;
  components: ComponentPlan[];
  /** Live components without a state in the file at T (left alone). */
  notInFile: string[];
}

/** Equal as Python values: same type (int vs float), NaN equals NaN, dict key order ignored. */
export function sameValue(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b) || a === b;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]!));
  }
  if (a.size !== b.size) return false;
  for (const [k, x] of a) {
    if (!b.has(k) || !sameValue(x, b.get(k)!)) return false;
  }
  return true;
}

/** A value for reports: JSON as Python writes it (floats keep `.0`). */
export function showValue(v: JsonValue | undefined): string {
  if (v === undefined) return "(none)";
  if (typeof v === "number") return formatFloat(v);
  return stringifyJson(v);
}

/** Not a plain value in Python: an object we cannot write back without changing its type. */
function notPlain(obj: PickleValue | undefined): string | null {
  if (obj === undefined || obj === null) return null;
  if (obj instanceof PickleEnum) return `an enum (${obj.cls.qualifiedName})`;
  if (obj instanceof PickleReduced) return `a ${obj.describe()}`;
  if (obj instanceof PickleSet) return `a ${obj.kind}`;
  if (obj instanceof Uint8Array) return "bytes";
  if (obj instanceof PickleObject) return `a ${obj.cls.qualifiedName} object`;
  if (typeof obj === "object" && !Array.isArray(obj) && !(obj instanceof Map)) return describePickleValue(obj);
  return null;
}

/**
 * The recorded JSON as the value to send, shaped by the live object: tuples where the live value
 * is a tuple, a float where the live value is a float and the record an integer. Returns a reason
 * string instead when some part of it is not a plain value in the live object.
 */
function toWritable(want: JsonValue, obj: PickleValue | undefined, tuples: WeakSet<object> | undefined, path: string): PickleWritable | { reason: string } {
  const bad = notPlain(obj);
  if (bad !== null) return { reason: `${path} is ${bad} in the pipeline, not a plain value` };
  if (typeof want === "bigint" && typeof obj === "number") {
    const f = Number(want);
    if (BigInt(f) === want) return f;
  }
  if (Array.isArray(want)) {
    const objItems = Array.isArray(obj) ? obj : undefined;
    const items: PickleWritable[] = [];
    for (const [i, x] of want.entries()) {
      const w = toWritable(x, objItems?.[i], tuples, `${path}[${i}]`);
      if (isReason(w)) return w;
      items.push(w);
    }
    return objItems !== undefined && tuples?.has(objItems) ? new PyTuple(items) : items;
  }
  if (isJsonObject(want)) {
    const objMap = obj instanceof Map ? obj : undefined;
    const out = new Map<PickleWritable, PickleWritable>();
    for (const [k, x] of want) {
      const w = toWritable(x, objMap?.get(k), tuples, `${path}.${k}`);
      if (isReason(w)) return w;
      out.set(k, w);
    }
    return out;
  }
  return want;
}

function isReason(w: PickleWritable | { reason: string }): w is { reason: string } {
  return typeof w === "object" && w !== null && !Array.isArray(w) && !(w instanceof Map) && "reason" in w && !(w instanceof PyTuple);
}

/** The fields of a dataclass-like live object, or null. */
function fieldsOf(obj: PickleValue | null | undefined): Map<PickleValue, PickleValue> | null {
  return obj instanceof PickleObject ? objectFields(obj) : null;
}

function planFields(
  want: Map<string, JsonValue>,
  have: Map<string, JsonValue>,
  obj: PickleValue | null | undefined,
  tuples: WeakSet<object> | undefined,
  prefix: string,
  out: FieldPlan[],
): void {
  const objFields = fieldsOf(obj);
  const objMap = obj instanceof Map ? obj : null;
  for (const [k, w] of want) {
    const path = prefix === "" ? k : `${prefix}.${k}`;
    if (!have.has(k)) {
      out.push({ path, kind: "cannot", to: w, reason: "the pipeline's settings have no such field" });
      continue;
    }
    const h = have.get(k)!;
    const o = objFields?.get(k) ?? objMap?.get(k);
    if (sameValue(w, h)) {
      out.push({ path, kind: "match", value: w });
      continue;
    }
    // A nested dataclass (or a value we know nothing of): walk it field by field with dotted paths.
    if (isJsonObject(w) && isJsonObject(h) && (o instanceof PickleObject ? fieldsOf(o) !== null : o === undefined)) {
      planFields(w, h, o, tuples, path, out);
      continue;
    }
    const value = toWritable(w, o, tuples, path);
    if (isReason(value)) out.push({ path, kind: "cannot", from: h, to: w, reason: value.reason });
    else if (typeof value === "number" && typeof w === "bigint" && sameValue(value, h)) out.push({ path, kind: "match", value: h });
    else out.push({ path, kind: "change", from: h, to: w, value });
  }
}

export function planRestore(state: SettingsState, live: Map<string, LiveComponent>): RestorePlan {
  const components: ComponentPlan[] = [];
  for (const [name, st] of state.components) {
    const base = { component: name, time: st.time, recorded: st.settings, fields: [] as FieldPlan[], extraFields: [] as string[] };
    const lc = live.get(name);
    if (lc === undefined) {
      components.push({ ...base, status: "gone", reason: "no such component in the pipeline now" });
      continue;
    }
    if (!isJsonObject(st.settings)) {
      components.push({ ...base, status: "unreadable", reason: "the file holds only a repr string for it at this time, not settings values" });
      continue;
    }
    if (!isJsonObject(lc.structured)) {
      components.push({ ...base, status: "unreadable", reason: "the pipeline reports no structured settings for it (only a repr)" });
      continue;
    }
    planFields(st.settings, lc.structured, lc.object, lc.tuples, "", base.fields);
    base.extraFields = [...lc.structured.keys()].filter((k) => !(st.settings as Map<string, JsonValue>).has(k));
    components.push({ ...base, status: "present" });
  }
  const notInFile = [...live.keys()].filter((k) => !state.components.has(k)).sort();
  return { at: state.at, components, notInFile };
}
