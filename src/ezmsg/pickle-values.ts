/**
 * The inert values our pickle decoder produces. Nothing here can run code: a Python class or
 * function named in a pickle becomes a {@link PickleClassRef} (module + name, nothing looked up),
 * and every "call" in the pickle (REDUCE, NEWOBJ, NEWOBJ_EX, BUILD) becomes a
 * {@link PickleObject} record of what Python would have called, with what.
 *
 * Python → JS:
 * - None → null, bool → boolean, int → bigint (always, so ints and floats stay distinct),
 *   float → number, str → string, bytes/bytearray → Uint8Array;
 * - list and tuple → array; dict → Map (keys keep their decoded form; str keys are strings);
 * - set/frozenset → {@link PickleSet};
 * - uuid.UUID → its canonical 36-character string;
 * - a member of a known enum class → {@link PickleEnum};
 * - any other instance → {@link PickleObject}, unless a reducer in the decoder's table turned it
 *   into a typed value (a {@link PickleReduced}: numpy arrays, ezmsg's AxisArray, …).
 */

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleSet
  | PickleClassRef
  | PickleObject
  | PickleEnum
  | PickleReduced;

/**
 * Base of the typed values a reducer (see `pickle-reducers.ts`) makes out of a known
 * constructor call: `numpy.ndarray`, `numpy.dtype`, `AxisArray`, … They are built once per pickled
 * object (a memo reference to the same object yields the same instance) and never mutated after.
 */
export abstract class PickleReduced {
  readonly kind = "reduced" as const;
  /** Python-ish type name for messages, e.g. "numpy.ndarray float32 (100, 8)". */
  abstract describe(): string;
}

export type PickleDict = Map<PickleValue, PickleValue>;

/** A reference to a Python global (class or function) by name. Never resolved. */
export class PickleClassRef {
  readonly kind = "class" as const;
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** How the pickle asked Python to create an instance. */
export type PickleConstruction = "reduce" | "newobj" | "newobj_ex";

/**
 * What Python would have built: `cls(*args, **kwargs)` (reduce) or `cls.__new__(cls, *args,
 * **kwargs)` (newobj/newobj_ex), then `BUILD(state)`, then appends/setitems, if any. For a
 * dataclass, `state` is the field dict (see {@link objectFields}).
 */
export class PickleObject {
  readonly kind = "object" as const;
  state: PickleValue | undefined = undefined;
  readonly listItems: PickleValue[] = [];
  readonly dictItems: [PickleValue, PickleValue][] = [];
  constructor(
    readonly cls: PickleClassRef,
    readonly construction: PickleConstruction,
    readonly args: PickleValue[],
    readonly kwargs: PickleDict | null,
  ) {}
  get module(): string {
    return this.cls.module;
  }
  get name(): string {
    return this.cls.name;
  }
}

/** A Python set or frozenset (items in pickle order; not deduplicated). */
export class PickleSet {
  constructor(
    readonly kind: "set" | "frozenset",
    readonly items: PickleValue[],
  ) {}
}

/** A member of an enum class the decoder was told about (`Enum.__reduce_ex__` → `cls(value)`). */
export class PickleEnum {
  readonly kind = "enum" as const;
  constructor(
    readonly cls: PickleClassRef,
    /** Member name, or null if the value is not a known member of the class. */
    readonly member: string | null,
    readonly value: PickleValue,
  ) {}
}

/** The field dict of a dataclass-like instance (`__dict__` state, or the dict part of (dict, slots)). */
export function objectFields(obj: PickleObject): PickleDict | null {
  const s = obj.state;
  if (s instanceof Map) return s;
  if (Array.isArray(s) && s.length === 2) {
    const [dict, slots] = s;
    const out: PickleDict = new Map();
    if (dict instanceof Map) for (const [k, v] of dict) out.set(k, v);
    if (slots instanceof Map) for (const [k, v] of slots) out.set(k, v);
    if (dict instanceof Map || slots instanceof Map) return out;
  }
  return null;
}

/** Short Python-ish type name for error messages. */
export function describePickleValue(v: PickleValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "int";
  if (typeof v === "number") return "float";
  if (typeof v === "string") return "str";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "list/tuple";
  if (v instanceof Map) return "dict";
  if (v instanceof PickleSet) return v.kind;
  if (v instanceof PickleClassRef) return `class reference ${v.qualifiedName}`;
  if (v instanceof PickleEnum) return `enum ${v.cls.name}`;
  if (v instanceof PickleReduced) return v.describe();
  return `${v.cls.qualifiedName} instance`;
}
