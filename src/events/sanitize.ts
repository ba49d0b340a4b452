/**
 * Flatten settings into dotted keys and sanitize values and names for tabular storage, with the
 * reference's semantics (`flatten_component_settings`, `sanitize_settings_value`,
 * `sanitize_settings_column_name` in the seed). Differences, all documented in docs/values.md:
 * values that become JSON text are real JSON of the original value (the reference writes numpy's
 * `str()` for nested arrays), integers beyond int64 become their decimal text, and column names
 * that collide after sanitizing get a deterministic suffix instead of overwriting each other.
 */
import { type JsonValue, isJsonObject, stringifyJson } from "./json.js";
import { type CellDType, type CellValue, type Scalar, SettingArray, allocate, convertScalar, dtypeOf, promote, storeScalar } from "./settings-values.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Flatten nested mappings into dotted field paths; a non-mapping top-level value is keyed `value`.
 * Paths are unambiguous, so two settings never share one: a `.` or `\` inside a key is escaped
 * with `\` (`{"a.b": 1}` → `a\.b`, `{"a": {"b": 2}}` → `a.b`) and empty keys stay empty segments
 * (`{"": {"x": 1}}` → `.x`, not `x`). Column names are derived from these paths (the escapes
 * sanitize away) and collisions among them are resolved by {@link ColumnNamer}.
 */
export function flattenSettings(value: JsonValue, prefix = ""): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  const walk = (v: JsonValue, p: string | undefined): void => {
    if (isJsonObject(v)) {
      for (const [k, sub] of v) walk(sub, p === undefined ? pathSegment(k) : `${p}.${pathSegment(k)}`);
      return;
    }
    out.set(p ?? "value", v);
  };
  walk(value, prefix === "" ? undefined : prefix);
  return out;
}

function pathSegment(key: string): string {
  return /[.\\]/.test(key) ? key.replace(/[.\\]/g, "\\$&") : key;
}

/** A settings field path as a tabular-safe column name (the reference's rule). */
export function sanitizeColumnName(name: string): string {
  let s = name.replace(/[^0-9A-Za-z_]+/g, ".").replace(/^_+|_+$/g, "");
  if (!s) s = "setting";
  if (/^[0-9]/.test(s)) s = `setting_${s}`;
  return s;
}

/** Convert one settings value into a scalar or fixed-shape array for a typed column. */
export function sanitizeSettingsValue(value: JsonValue): CellValue {
  if (value === null) return "None";
  if (typeof value === "bigint") return value < INT64_MIN || value > INT64_MAX ? value.toString() : value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
  if (Array.isArray(value)) return arrayDepth(value, MAX_CELL_RANK) > MAX_CELL_RANK ? stringifyJson(value) : sanitizeSequence(value);
  return stringifyJson(value);
}

/**
 * Deepest array nesting a typed cell may have: HDF5 datasets have at most 32 dimensions
 * (H5S_MAX_RANK), and a table column spends one on the row axis. Deeper sequences are stored as
 * JSON text, like ragged ones, instead of failing the table.
 */
export const MAX_CELL_RANK = 31;

/** Array nesting depth of `v` (`[]` is 1, `[[1]]` is 2), counting no further than `limit + 1`. */
function arrayDepth(v: JsonValue, limit: number): number {
  if (!Array.isArray(v)) return 0;
  let deepest = 0;
  for (const item of v) {
    if (deepest > limit) break;
    deepest = Math.max(deepest, arrayDepth(item, limit - 1));
  }
  return deepest + 1;
}

function sanitizeSequence(items: JsonValue[]): CellValue {
  if (items.length === 0) return new SettingArray("float64", [0], new Float64Array(0));
  const cells = items.map(sanitizeSettingsValue);
  const first = cells[0]!;
  const innerShape = first instanceof SettingArray ? first.shape : [];
  let dtype: CellDType = dtypeOf(first);
  for (const c of cells) {
    const isArray = c instanceof SettingArray;
    if (isArray !== first instanceof SettingArray) return stringifyJson(items); // ragged: scalar beside array
    if (c instanceof SettingArray && !sameShape(c.shape, innerShape)) return stringifyJson(items);
    dtype = promote(dtype, dtypeOf(c));
  }
  const innerSize = innerShape.reduce((a, b) => a * b, 1);
  const data = allocate(dtype, cells.length * innerSize);
  cells.forEach((c, i) => {
    if (c instanceof SettingArray) {
      for (let j = 0; j < innerSize; j++) storeScalar(data, i * innerSize + j, convertScalar(c.at(j), dtype));
    } else {
      storeScalar(data, i, convertScalar(c as Scalar, dtype));
    }
  });
  return new SettingArray(dtype, [cells.length, ...innerShape], data);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Assigns each (component, field path) one column name for the life of a table, so two settings
 * that sanitize to the same name never overwrite each other. The first to appear keeps the plain
 * name; a later one gets `__2`, `__3`, … in order of first appearance (deterministic per stream).
 */
export class ColumnNamer {
  /** component address → field path → column (two levels: no key string built per lookup). */
  private readonly byComponent = new Map<string, Map<string, string>>();
  private readonly taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.taken.add(r);
  }

  columnFor(componentAddress: string, fieldPath: string): string {
    let byField = this.byComponent.get(componentAddress);
    if (byField === undefined) {
      byField = new Map();
      this.byComponent.set(componentAddress, byField);
    }
    const known = byField.get(fieldPath);
    if (known !== undefined) return known;
    let base = sanitizeColumnName(`${componentAddress}.${fieldPath}`);
    // Only dots (e.g. from a name of non-ASCII letters) would mean "this group" to HDF5.
    if (/^\.+$/.test(base)) base = "setting";
    let name = base;
    for (let n = 2; this.taken.has(name); n++) name = `${base}__${n}`;
    this.taken.add(name);
    byField.set(fieldPath, name);
    return name;
  }
}

/** Flatten and sanitize one component's settings payload into column → cell value. */
export function flattenComponentSettings(componentAddress: string, value: JsonValue, namer: ColumnNamer = new ColumnNamer()): Map<string, CellValue> {
  const out = new Map<string, CellValue>();
  for (const [field, v] of flattenSettings(value)) {
    out.set(namer.columnFor(componentAddress, field), sanitizeSettingsValue(v));
  }
  return out;
}
