/**
 * The table of known constructors: the only place where a pickled call becomes data.
 *
 * The decoder never runs a pickle: every REDUCE / NEWOBJ / NEWOBJ_EX (+ BUILD, appends, setitems)
 * is recorded as a call. When the result tree is built, the call's qualified name is looked up
 * here; a reducer may turn it into a plain value (a `uuid.UUID` → its string) or a typed value
 * ({@link PickleReduced}: numpy arrays, AxisArray), or return `undefined` to leave the inert
 * {@link PickleObject} record. A reducer only reads its already-built, inert arguments; it cannot
 * reach Python, the file system or the network, and it reports problems through `ctx.fail` with a
 * code. Modules join by exporting their own table (`NUMPY_REDUCERS`, `AXISARRAY_REDUCERS`).
 */
import type { PickleErrorCode } from "./pickle-decoder.js";
import {
  PickleEnum,
  PickleSet,
  describePickleValue,
  type PickleClassRef,
  type PickleConstruction,
  type PickleDict,
  type PickleValue,
} from "./pickle-values.js";

/** One pickled construction, with every part already decoded and reduced. */
export interface PickleCall {
  readonly cls: PickleClassRef;
  readonly construction: PickleConstruction;
  readonly args: readonly PickleValue[];
  readonly kwargs: PickleDict | null;
  /** What BUILD set (undefined: no BUILD). */
  readonly state: PickleValue | undefined;
  readonly listItems: readonly PickleValue[];
  readonly dictItems: readonly (readonly [PickleValue, PickleValue])[];
}

/** What a reducer may use: coded failure at the call's offset, and the decoder's byte budget. */
export interface ReducerContext {
  fail(code: PickleErrorCode, problem: string): never;
  /** Count `n` bytes a reducer is about to allocate against `maxArrayBytes` (fails past it). */
  chargeBytes(n: number, what: string): void;
}

export type PickleReducer = (call: PickleCall, ctx: ReducerContext) => PickleValue | undefined;

/** Qualified name (`module.qualname`) → reducer. */
export type PickleReducerTable = ReadonlyMap<string, PickleReducer>;

/** True when the call is a plain `cls(*args)`: no kwargs, BUILD, appends or setitems. */
export function isPlainCall(call: PickleCall): boolean {
  return call.state === undefined && call.listItems.length === 0 && call.dictItems.length === 0 && call.kwargs === null;
}

function isLatin1Name(v: PickleValue | undefined): boolean {
  return typeof v === "string" && /^(latin-?1|iso-?8859-?1)$/i.test(v);
}

function latin1Bytes(s: string, call: PickleCall, ctx: ReducerContext): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) ctx.fail("bad_value", `${call.cls.qualifiedName} latin-1 text has a character above U+00FF`);
    out[i] = c;
  }
  return out;
}

const uuidReducer: PickleReducer = (call, ctx) => {
  const int = call.state instanceof Map ? call.state.get("int") : undefined;
  if (typeof int !== "bigint" || int < 0n || int >= 1n << 128n) {
    return ctx.fail("bad_value", `uuid.UUID without a 128-bit 'int' in its state (got ${describePickleValue(int)})`);
  }
  const h = int.toString(16).padStart(32, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

function setReducer(kind: "set" | "frozenset"): PickleReducer {
  return (call) => {
    if (call.construction !== "reduce" || !isPlainCall(call) || call.args.length > 1) return undefined;
    const items = call.args.length === 0 ? [] : call.args[0];
    return Array.isArray(items) ? new PickleSet(kind, items) : undefined;
  };
}

const bytesReducer: PickleReducer = (call) => (call.construction === "reduce" && isPlainCall(call) && call.args.length === 0 ? new Uint8Array(0) : undefined);

const bytearrayReducer: PickleReducer = (call, ctx) => {
  if (call.construction !== "reduce" || !isPlainCall(call)) return undefined;
  const a = call.args;
  if (a.length === 0) return new Uint8Array(0);
  if (a.length === 1 && a[0] instanceof Uint8Array) return a[0];
  if (a.length === 2 && typeof a[0] === "string" && isLatin1Name(a[1])) return latin1Bytes(a[0], call, ctx);
  return undefined;
};

const codecsEncodeReducer: PickleReducer = (call, ctx) => {
  const a = call.args;
  if (call.construction !== "reduce" || !isPlainCall(call) || a.length !== 2 || typeof a[0] !== "string" || !isLatin1Name(a[1])) return undefined;
  return latin1Bytes(a[0], call, ctx);
};

/** `uuid.UUID`, and the protocol-2 forms of sets and bytes. */
export const BUILTIN_REDUCERS: PickleReducerTable = new Map<string, PickleReducer>([
  ["uuid.UUID", uuidReducer],
  ...(["builtins", "__builtin__"] as const).flatMap((m): [string, PickleReducer][] => [
    [`${m}.set`, setReducer("set")],
    [`${m}.frozenset`, setReducer("frozenset")],
    [`${m}.bytes`, bytesReducer],
    [`${m}.bytearray`, bytearrayReducer],
  ]),
  ["_codecs.encode", codecsEncodeReducer],
]);

/** Reducers for enum classes (`Enum.__reduce_ex__` → `cls(value)`): class → value → member name. */
export function enumReducers(known: ReadonlyMap<string, ReadonlyMap<string, string>>): PickleReducerTable {
  const out = new Map<string, PickleReducer>();
  for (const [qualified, members] of known) {
    out.set(qualified, (call) => {
      if (call.construction !== "reduce" || !isPlainCall(call) || call.args.length !== 1) return undefined;
      const value = call.args[0]!;
      return new PickleEnum(call.cls, typeof value === "string" ? (members.get(value) ?? null) : null, value);
    });
  }
  return out;
}

/** Merge tables; later ones win on a name both define. */
export function mergeReducers(...tables: PickleReducerTable[]): PickleReducerTable {
  const out = new Map<string, PickleReducer>();
  for (const t of tables) for (const [k, v] of t) out.set(k, v);
  return out;
}
