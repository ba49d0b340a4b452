/**
 * ezmsg's `AxisArray` (ezmsg.util.messages.axisarray, 3.9) as a typed value, decoded by reducers
 * from the pickle: plain dataclasses, each `NEWOBJ` + `BUILD(field dict)`.
 *
 * | class | fields |
 * |---|---|
 * | AxisArray | data (ndarray), dims (list[str], one per axis, unique), axes (dict dim → axis, a subset of dims), attrs (dict), key (str), stream_dim (str or None; 3.10, optional) |
 * | LinearAxis (also `AxisArray.Axis`) | unit (str), gain (float, finite), offset (float): value(i) = i·gain + offset |
 * | CoordinateAxis | data (ndarray), dims (list[str]), unit (str) |
 *
 * 3.10.0b5 pickles more state: `stream_dim` (the dim the stream runs along, one of dims) and, on a
 * CoordinateAxis, a cached `_fingerprint` tuple (ignored here). Its axis elision (`_AxisRef`) only
 * reaches a channel that sent ELIDE_OK, which ours does not, so axes always arrive in full.
 *
 * A message that breaks these rules is rejected with `bad_axisarray`; a data array of a dtype we
 * cannot decode with `unsupported_dtype`.
 */
import { describeArrayLike, NumpyArray, NUMPY_REDUCERS } from "./numpy.js";
import { PickleDecodeError, decodePickle, type PickleDecodeOptions } from "./pickle-decoder.js";
import { mergeReducers, type PickleCall, type PickleReducer, type PickleReducerTable, type ReducerContext } from "./pickle-reducers.js";
import { PickleReduced, describePickleValue, type PickleDict, type PickleValue } from "./pickle-values.js";

const MODULE = "ezmsg.util.messages.axisarray";

export class LinearAxis extends PickleReduced {
  constructor(
    readonly unit: string,
    readonly gain: number,
    readonly offset: number,
  ) {
    super();
  }
  /** Coordinate of sample `i`. */
  value(i: number): number {
    return i * this.gain + this.offset;
  }
  describe(): string {
    return `LinearAxis(gain ${this.gain}, offset ${this.offset}, unit ${JSON.stringify(this.unit)})`;
  }
}

export class CoordinateAxis extends PickleReduced {
  constructor(
    readonly data: NumpyArray,
    readonly dims: string[],
    readonly unit: string,
  ) {
    super();
  }
  describe(): string {
    return `CoordinateAxis(${this.data.describe()}, dims [${this.dims.join(", ")}])`;
  }
}

export type Axis = LinearAxis | CoordinateAxis;

export class AxisArray extends PickleReduced {
  constructor(
    readonly data: NumpyArray,
    readonly dims: string[],
    readonly axes: ReadonlyMap<string, Axis>,
    readonly attrs: PickleDict,
    readonly key: string,
    /** The dim the message streams along, when the publisher declared one (ezmsg 3.10). */
    readonly streamDim: string | null = null,
  ) {
    super();
  }
  /** Index of a dimension, or -1. */
  axisIndex(dim: string): number {
    return this.dims.indexOf(dim);
  }
  describe(): string {
    return `AxisArray(${this.data.describe()}, dims [${this.dims.join(", ")}], key ${JSON.stringify(this.key)})`;
  }
}

function fields(call: PickleCall, ctx: ReducerContext): PickleDict {
  if (call.construction === "reduce" || call.args.length !== 0) ctx.fail("bad_axisarray", "expected NEWOBJ with no arguments (a dataclass)");
  let s = call.state;
  // (dict, slots) form, in case a future version adds __slots__
  if (Array.isArray(s) && s.length === 2 && (s[0] instanceof Map || s[0] === null)) {
    const merged: PickleDict = new Map();
    for (const part of s) if (part instanceof Map) for (const [k, v] of part) merged.set(k, v);
    s = merged;
  }
  if (!(s instanceof Map)) return ctx.fail("bad_axisarray", `state must be a field dict, got ${describePickleValue(s)}`);
  return s;
}

function str(v: PickleValue | undefined, what: string, ctx: ReducerContext, dflt?: string): string {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "string") return ctx.fail("bad_axisarray", `${what} must be a str, got ${describePickleValue(v)}`);
  return v;
}

function num(v: PickleValue | undefined, what: string, ctx: ReducerContext): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return ctx.fail("bad_axisarray", `${what} must be a number, got ${describePickleValue(v)}`);
}

function strList(v: PickleValue | undefined, what: string, ctx: ReducerContext): string[] {
  if (!Array.isArray(v)) return ctx.fail("bad_axisarray", `${what} must be a list of str, got ${describePickleValue(v)}`);
  const out = v.map((x, i) => str(x, `${what}[${i}]`, ctx));
  if (new Set(out).size !== out.length) ctx.fail("bad_axisarray", `${what} has a repeated name: [${out.join(", ")}]`);
  return out;
}

function ndarrayField(v: PickleValue | undefined, what: string, ctx: ReducerContext): NumpyArray {
  if (v instanceof NumpyArray) return v;
  const d = describeArrayLike(v);
  return ctx.fail(d.startsWith("a numpy array of unsupported") ? "unsupported_dtype" : "bad_axisarray", `${what} must be a numpy array, got ${d}`);
}

const linearAxisReducer: PickleReducer = (call, ctx) => {
  const f = fields(call, ctx);
  const gain = num(f.get("gain") ?? 1.0, "LinearAxis.gain", ctx);
  const offset = num(f.get("offset") ?? 0.0, "LinearAxis.offset", ctx);
  if (!Number.isFinite(gain) || gain === 0) ctx.fail("bad_axisarray", `LinearAxis.gain must be finite and non-zero, got ${gain}`);
  if (!Number.isFinite(offset)) ctx.fail("bad_axisarray", `LinearAxis.offset must be finite, got ${offset}`);
  return new LinearAxis(str(f.get("unit"), "LinearAxis.unit", ctx, ""), gain, offset);
};

const coordinateAxisReducer: PickleReducer = (call, ctx) => {
  const f = fields(call, ctx);
  const data = ndarrayField(f.get("data"), "CoordinateAxis.data", ctx);
  const dims = strList(f.get("dims"), "CoordinateAxis.dims", ctx);
  if (dims.length !== data.ndim) ctx.fail("bad_axisarray", `CoordinateAxis has ${dims.length} dims for ${data.ndim}-d data`);
  return new CoordinateAxis(data, dims, str(f.get("unit"), "CoordinateAxis.unit", ctx, ""));
};

const axisArrayReducer: PickleReducer = (call, ctx) => {
  const f = fields(call, ctx);
  const data = ndarrayField(f.get("data"), "AxisArray.data", ctx);
  const dims = strList(f.get("dims"), "AxisArray.dims", ctx);
  if (dims.length !== data.ndim) ctx.fail("bad_axisarray", `AxisArray has ${dims.length} dims [${dims.join(", ")}] for ${data.ndim}-d data ${data.describe()}`);
  const rawAxes = f.get("axes") ?? new Map();
  if (!(rawAxes instanceof Map)) return ctx.fail("bad_axisarray", `AxisArray.axes must be a dict, got ${describePickleValue(rawAxes)}`);
  const axes = new Map<string, Axis>();
  for (const [k, v] of rawAxes) {
    const name = str(k, "an AxisArray.axes key", ctx);
    if (!dims.includes(name)) ctx.fail("bad_axisarray", `axis ${JSON.stringify(name)} is not one of dims [${dims.join(", ")}]`);
    if (!(v instanceof LinearAxis) && !(v instanceof CoordinateAxis)) {
      ctx.fail("bad_axisarray", `axis ${JSON.stringify(name)} is ${describePickleValue(v)}, not a LinearAxis or CoordinateAxis`);
    }
    if (v instanceof CoordinateAxis) {
      for (const cd of v.dims)
        if (!dims.includes(cd)) ctx.fail("bad_axisarray", `axis ${JSON.stringify(name)} spans dim ${JSON.stringify(cd)} that the data does not have`);
    }
    axes.set(name, v);
  }
  const attrs = f.get("attrs") ?? new Map();
  if (!(attrs instanceof Map)) return ctx.fail("bad_axisarray", `AxisArray.attrs must be a dict, got ${describePickleValue(attrs)}`);
  const sd = f.get("stream_dim") ?? null;
  if (sd !== null && (typeof sd !== "string" || !dims.includes(sd)))
    ctx.fail("bad_axisarray", `AxisArray.stream_dim must be None or one of dims [${dims.join(", ")}], got ${describePickleValue(sd)}`);
  return new AxisArray(data, dims, axes, attrs, str(f.get("key"), "AxisArray.key", ctx, ""), sd as string | null);
};

/** AxisArray's classes (and numpy's, which it needs). */
export const AXISARRAY_REDUCERS: PickleReducerTable = mergeReducers(
  NUMPY_REDUCERS,
  new Map<string, PickleReducer>([
    [`${MODULE}.AxisArray`, axisArrayReducer],
    [`${MODULE}.LinearAxis`, linearAxisReducer],
    [`${MODULE}.AxisArray.Axis`, linearAxisReducer],
    [`${MODULE}.CoordinateAxis`, coordinateAxisReducer],
  ]),
);

/**
 * Decode one published message: `stream` is buffer 0 of a MessageMarshal payload, `buffers` the
 * out-of-band buffers. Returns the AxisArray, or throws a coded `PickleDecodeError`
 * (`bad_axisarray` when the message is something else).
 */
export function decodeAxisArray(stream: Uint8Array, buffers: readonly Uint8Array[], options: PickleDecodeOptions = {}): AxisArray {
  const v = decodePickle(stream, { ...options, buffers, reducers: mergeReducers(AXISARRAY_REDUCERS, options.reducers ?? new Map()) });
  if (!(v instanceof AxisArray)) {
    throw new PickleDecodeError("bad_axisarray", 0, `the message is ${describePickleValue(v)}, not an AxisArray`, options.source);
  }
  return v;
}
