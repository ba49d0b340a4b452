/**
 * numpy arrays out of a pickle, without numpy and without running anything: reducers for the
 * constructors numpy's `ndarray.__reduce_ex__(5)` and `dtype.__reduce__` name.
 *
 * Wire forms (numpy 2.x; numpy 1.x uses `numpy.core.*`, accepted too):
 * | array | pickled as |
 * |---|---|
 * | C-contiguous | `_frombuffer(buf, dtype, shape, 'C')`, `buf` usually out-of-band (`NEXT_BUFFER`) |
 * | F-contiguous | `_frombuffer(buf, dtype, shape, 'F')`: buf is column-major |
 * | dense, axes permuted | `_frombuffer(buf, dtype, mem_shape, 'K', axis_order)`: C-order `mem_shape`, then transposed |
 * | anything else, object dtype | `_reconstruct(ndarray, (0,), b'b')` + BUILD `(1, shape, dtype, is_fortran, data)`, data in-band bytes or a list |
 *
 * Buffers arrive at any byte offset (MessageMarshal packs them back to back), so the bytes are
 * always copied into a fresh, aligned typed array, byte-swapped if the dtype is big-endian.
 * Supported element kinds: bool (`b1`), int/uint 1–8 bytes, float 4/8, unicode `U` (→ string,
 * trailing NULs stripped), bytes `S` (→ Uint8Array), object `O` (→ decoded values). Other dtypes
 * (float16, complex, structured, datetime) leave the call as an inert record; whoever needs the
 * array reports `unsupported_dtype`.
 */
import ndarray from "ndarray";
import type { PickleCall, PickleReducer, PickleReducerTable, ReducerContext } from "./pickle-reducers.js";
import { PickleClassRef, PickleReduced, describePickleValue, type PickleValue } from "./pickle-values.js";

export type NumericData =
  | Int8Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>
  | Int16Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | BigInt64Array<ArrayBuffer>
  | BigUint64Array<ArrayBuffer>
  | Float32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>;
// biome-ignore lint/suspicious/noExplicitAny: ndarray's Data type cannot name BigInt64Array<ArrayBuffer>
type View = ndarray.NdArray<any>;
export type NumpyData = NumericData | string[] | PickleValue[];

/** A numpy dtype as pickled: kind letter, item size in bytes, byte order. */
export class NumpyDType extends PickleReduced {
  constructor(
    /** numpy `dtype.kindChar`: b i u f c U S O V M m. */
    readonly kindChar: string,
    readonly itemsize: number,
    /** `<` little, `>` big, `|` not applicable. */
    readonly byteorder: "<" | ">" | "|",
    /** A structured or subarray dtype (fields/shape): never decoded. */
    readonly structured = false,
  ) {
    super();
  }
  /** numpy's `dtype.str`, e.g. `<f4`, `|b1`, `<U4`, `|O`. */
  get str(): string {
    if (this.kindChar === "O") return "|O";
    if (this.kindChar === "U") return `${this.byteorder}U${this.itemsize / 4}`;
    return `${this.byteorder}${this.kindChar}${this.itemsize}`;
  }
  /** The name numpy prints (`float32`, `int16`, `bool`, `<U4`). */
  get name(): string {
    if (this.kindChar === "b") return "bool";
    if (this.kindChar === "f") return `float${this.itemsize * 8}`;
    if (this.kindChar === "i") return `int${this.itemsize * 8}`;
    if (this.kindChar === "u") return `uint${this.itemsize * 8}`;
    if (this.kindChar === "O") return "object";
    return this.str;
  }
  /** Whether arrays of this dtype decode to data (see the module comment). */
  get supported(): boolean {
    if (this.structured) return false;
    switch (this.kindChar) {
      case "b":
        return this.itemsize === 1;
      case "i":
      case "u":
        return [1, 2, 4, 8].includes(this.itemsize);
      case "f":
        return this.itemsize === 4 || this.itemsize === 8;
      case "U":
        return this.itemsize % 4 === 0;
      case "S":
      case "O":
        return true;
      default:
        return false;
    }
  }
  describe(): string {
    return `numpy.dtype ${this.str}`;
  }
}

/** A decoded numpy array: dtype, and an `ndarray` view (shape, strides) over JS data. */
export class NumpyArray extends PickleReduced {
  private view: View | null;
  private readonly raw: { bytes: Uint8Array; shape: number[] } | null;

  constructor(
    readonly dtype: NumpyDType,
    /** Shape, strides and offset over the data; or, for a C-order little-endian numeric array, its raw bytes (decoded on first use). */
    array: View | { bytes: Uint8Array; shape: number[] },
  ) {
    super();
    if ("bytes" in array) {
      this.view = null;
      this.raw = array;
    } else {
      this.view = array;
      this.raw = null;
    }
  }
  /** Shape, strides and offset over {@link data} (views of F-order and permuted arrays keep their memory order). */
  get array(): View {
    if (this.view === null) {
      const { bytes, shape } = this.raw!;
      this.view = ndarray(
        elementsFromBytes(
          this.dtype,
          bytes,
          shape.reduce((a, b) => a * b, 1),
        ),
        shape,
        cStrides(shape),
        0,
      );
    }
    return this.view;
  }
  /** The elements in memory order (see `array` for how to index them). */
  get data(): NumpyData {
    return this.array.data as NumpyData;
  }
  get shape(): number[] {
    return this.view === null ? this.raw!.shape : this.view.shape;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /**
   * Little-endian bytes of the elements in C order, for numeric and bool arrays: the received
   * bytes themselves (no copy) when the array came C-ordered and little-endian, else a copy.
   */
  cOrderBytes(): Uint8Array {
    if (this.view === null) return this.raw!.bytes;
    const c = this.cOrder();
    if (!ArrayBuffer.isView(c)) throw new Error(`cOrderBytes: ${this.describe()} is not numeric`);
    return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
  }
  /** True when `array.data` already holds the elements in row-major order from 0. */
  get isCContiguous(): boolean {
    const { shape, stride, offset } = this.array;
    if (offset !== 0 || this.data.length !== this.size) return false;
    let expect = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i]! > 1 && stride[i] !== expect) return false;
      expect *= shape[i]!;
    }
    return true;
  }
  /** The elements in row-major (C) order: `array.data` itself when already so, else a copy. */
  cOrder(): NumpyData {
    if (this.view === null || this.isCContiguous) return this.data;
    const { shape, stride, offset } = this.array;
    const data = this.data;
    const n = this.size;
    const out = allocLike(data, n);
    const nd = shape.length;
    const idx = new Array<number>(nd).fill(0);
    let src = offset;
    for (let k = 0; k < n; k++) {
      (out as unknown as unknown[])[k] = (data as unknown as unknown[])[src];
      // odometer increment, last axis fastest
      for (let ax = nd - 1; ax >= 0; ax--) {
        idx[ax]!++;
        src += stride[ax]!;
        if (idx[ax]! < shape[ax]!) break;
        src -= stride[ax]! * shape[ax]!;
        idx[ax] = 0;
      }
    }
    return out;
  }
  describe(): string {
    return `numpy.ndarray ${this.dtype.name} (${this.shape.join(", ")}${this.ndim === 1 ? "," : ""})`;
  }
}

function allocLike(data: NumpyData, n: number): NumpyData {
  if (Array.isArray(data)) return new Array(n);
  const ctor = data.constructor as new (n: number) => NumericData;
  return new ctor(n);
}

const TYPED: Record<string, new (buf: ArrayBuffer) => NumericData> = {
  b1: Uint8Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
  f4: Float32Array,
  f8: Float64Array,
};

/** Copy `count` elements of `dtype` out of `bytes` (any alignment) into JS data, in memory order. */
export function elementsFromBytes(dtype: NumpyDType, bytes: Uint8Array, count: number): NumpyData {
  const size = dtype.itemsize;
  if (dtype.kindChar === "U") {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = dtype.byteorder !== ">";
    const out: string[] = new Array(count);
    const chars = size / 4;
    const cps: number[] = [];
    for (let i = 0; i < count; i++) {
      cps.length = 0;
      for (let c = 0; c < chars; c++) cps.push(dv.getUint32(i * size + c * 4, le));
      while (cps.length > 0 && cps[cps.length - 1] === 0) cps.pop();
      for (const cp of cps) if (cp > 0x10ffff) throw new RangeError(`code point 0x${cp.toString(16)} is not Unicode`);
      out[i] = String.fromCodePoint(...cps);
    }
    return out;
  }
  if (dtype.kindChar === "S") {
    const out: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      let end = (i + 1) * size;
      while (end > i * size && bytes[end - 1] === 0) end--;
      out[i] = bytes.slice(i * size, end);
    }
    return out;
  }
  const ctor = TYPED[`${dtype.kindChar}${size}`];
  if (ctor === undefined) throw new RangeError(`dtype ${dtype.str} has no typed array`);
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(0, count * size));
  if (dtype.byteorder === ">" && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return new ctor(copy.buffer);
}

// ---- reducers -----------------------------------------------------------------------------

function shapeOf(v: PickleValue | undefined, what: string, ctx: ReducerContext): number[] {
  if (!Array.isArray(v)) return ctx.fail("bad_array", `${what} must be a tuple of ints, got ${describePickleValue(v)}`);
  return v.map((d) => {
    if (typeof d !== "bigint" || d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      return ctx.fail("bad_array", `${what} has a dimension that is not a non-negative int: ${describePickleValue(d)}`);
    }
    return Number(d);
  });
}

function countOf(shape: number[], itemsize: number, ctx: ReducerContext): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n * Math.max(itemsize, 1) > Number.MAX_SAFE_INTEGER) ctx.fail("bad_array", `shape (${shape.join(", ")}) is too large`);
  }
  return n;
}

function cStrides(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

function fStrides(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = 0; i < shape.length; i++) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

function makeArray(dtype: NumpyDType, data: NumpyData, shape: number[], fortran: boolean): NumpyArray {
  return new NumpyArray(dtype, ndarray(data, shape, fortran ? fStrides(shape) : cStrides(shape), 0));
}

function decodeElements(dtype: NumpyDType, bytes: Uint8Array, count: number, what: string, ctx: ReducerContext): NumpyData {
  if (bytes.length !== count * dtype.itemsize) {
    ctx.fail("bad_array", `${what} has ${bytes.length} bytes; ${count} elements of ${dtype.str} need ${count * dtype.itemsize}`);
  }
  ctx.chargeBytes(bytes.length, what);
  try {
    return elementsFromBytes(dtype, bytes, count);
  } catch (err) {
    return ctx.fail("bad_array", `${what}: ${(err as Error).message}`);
  }
}

/** `numpy.dtype(type_str, align, copy)` + BUILD `(3, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`. */
const dtypeReducer: PickleReducer = (call, ctx) => {
  const typeStr = call.args[0];
  if (call.construction !== "reduce" || typeof typeStr !== "string") return undefined;
  const m = /^([biufcUSOVMm])(\d*)$/.exec(typeStr);
  if (m === null) return ctx.fail("bad_array", `unknown dtype string ${JSON.stringify(typeStr.slice(0, 20))}`);
  const kind = m[1]!;
  let itemsize = m[2] === "" ? 0 : Number(m[2]);
  if (kind === "U") itemsize *= 4;
  let byteorder: "<" | ">" | "|" = itemsize <= 1 || kind === "O" ? "|" : "<";
  let structured = kind === "V";
  const st = call.state;
  if (st !== undefined) {
    if (!Array.isArray(st) || st.length < 8) return ctx.fail("bad_array", `dtype state must be a tuple of 8 or 9 items, got ${describePickleValue(st)}`);
    const [, order, subarray, names, , elsize] = st;
    if (order === "<" || order === ">" || order === "|") byteorder = order;
    else if (order !== "=") return ctx.fail("bad_array", `dtype byte order ${describePickleValue(order)}`);
    if (subarray !== null || names !== null) structured = true;
    if (typeof elsize === "bigint" && elsize > 0n) {
      if (elsize > 1n << 31n) return ctx.fail("bad_array", `dtype item size ${elsize} is too large`);
      itemsize = Number(elsize);
    }
  }
  if (itemsize === 0 && kind !== "V" && kind !== "S" && kind !== "U") return ctx.fail("bad_array", `dtype ${typeStr} without an item size`);
  return new NumpyDType(kind, itemsize, byteorder, structured);
};

/** `_frombuffer(buf, dtype, shape, order[, axis_order])`. */
const frombufferReducer: PickleReducer = (call, ctx) => {
  const [buf, dtype, shapeArg, order, axisOrder] = call.args;
  if (call.construction !== "reduce" || call.args.length < 4 || call.args.length > 5) {
    return ctx.fail("bad_array", `expects (buffer, dtype, shape, order[, axis_order]), got ${call.args.length} arguments`);
  }
  if (!(buf instanceof Uint8Array)) return ctx.fail("bad_array", `buffer must be bytes, got ${describePickleValue(buf)}`);
  if (!(dtype instanceof NumpyDType)) return ctx.fail("bad_array", `dtype must be a numpy.dtype, got ${describePickleValue(dtype)}`);
  if (order !== "C" && order !== "F" && order !== "K") return ctx.fail("bad_array", `order must be 'C', 'F' or 'K', got ${describePickleValue(order)}`);
  const memShape = shapeOf(shapeArg, "shape", ctx);
  if (!dtype.supported || dtype.kindChar === "O") return undefined;
  const count = countOf(memShape, dtype.itemsize, ctx);
  const numeric = ["b", "i", "u", "f"].includes(dtype.kindChar) && (dtype.byteorder === "<" || dtype.byteorder === "|" || dtype.itemsize === 1);
  if (order === "C" && numeric && axisOrder === undefined) {
    // Kept as received; decoded into a typed array only if someone asks for the elements.
    if (buf.length !== count * dtype.itemsize) {
      ctx.fail("bad_array", `array buffer has ${buf.length} bytes; ${count} elements of ${dtype.str} need ${count * dtype.itemsize}`);
    }
    ctx.chargeBytes(buf.length, "array buffer");
    return new NumpyArray(dtype, { bytes: buf, shape: memShape });
  }
  const data = decodeElements(dtype, buf, count, "array buffer", ctx);
  if (order !== "K") {
    if (axisOrder !== undefined) ctx.fail("bad_array", `axis_order given with order '${order}'`);
    return makeArray(dtype, data, memShape, order === "F");
  }
  const perm = shapeOf(axisOrder, "axis_order", ctx);
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== memShape.length || sorted.some((p, i) => p !== i)) {
    ctx.fail("bad_array", `axis_order (${perm.join(", ")}) is not a permutation of ${memShape.length} axes`);
  }
  const base = ndarray(data, memShape, cStrides(memShape), 0);
  return new NumpyArray(dtype, base.transpose(...perm));
};

/** `_reconstruct(ndarray, (0,), b'b')` + BUILD `([1,] shape, dtype, is_fortran, data)`. */
const reconstructReducer: PickleReducer = (call, ctx) => {
  const cls = call.args[0];
  if (call.construction !== "reduce" || !(cls instanceof PickleClassRef) || !isNdarrayClass(cls)) return undefined;
  const st = call.state;
  if (st === undefined) return ctx.fail("bad_array", "ndarray without BUILD state");
  if (!Array.isArray(st) || (st.length !== 5 && st.length !== 4))
    return ctx.fail("bad_array", `ndarray state must be a 4- or 5-tuple, got ${describePickleValue(st)}`);
  const [shapeArg, dtype, fortran, raw] = st.length === 5 ? st.slice(1) : st;
  const shape = shapeOf(shapeArg, "shape", ctx);
  if (!(dtype instanceof NumpyDType)) return ctx.fail("bad_array", `dtype must be a numpy.dtype, got ${describePickleValue(dtype)}`);
  if (typeof fortran !== "boolean") return ctx.fail("bad_array", `is_fortran must be a bool, got ${describePickleValue(fortran)}`);
  if (!dtype.supported) return undefined;
  const count = countOf(shape, dtype.itemsize, ctx);
  let data: NumpyData;
  if (dtype.kindChar === "O") {
    if (!Array.isArray(raw)) return ctx.fail("bad_array", `object array data must be a list, got ${describePickleValue(raw)}`);
    if (raw.length !== count) ctx.fail("bad_array", `object array has ${raw.length} elements; shape (${shape.join(", ")}) needs ${count}`);
    data = [...raw];
  } else {
    if (!(raw instanceof Uint8Array)) return ctx.fail("bad_array", `array data must be bytes, got ${describePickleValue(raw)}`);
    data = decodeElements(dtype, raw, count, "array data", ctx);
  }
  return makeArray(dtype, data, shape, fortran);
};

function isNdarrayClass(c: PickleClassRef): boolean {
  return c.module === "numpy" && c.name === "ndarray";
}

/** `scalar(dtype, bytes)` → number (float), bigint (int), boolean, string; object: the object. */
const scalarReducer: PickleReducer = (call, ctx) => {
  const [dtype, raw] = call.args;
  if (call.construction !== "reduce" || !(dtype instanceof NumpyDType) || call.args.length !== 2) return undefined;
  if (dtype.kindChar === "O") return raw;
  if (!(raw instanceof Uint8Array)) return ctx.fail("bad_array", `scalar value must be bytes, got ${describePickleValue(raw)}`);
  if (!dtype.supported) return undefined;
  const [v] = decodeElements(dtype, raw, 1, "scalar", ctx) as unknown[];
  if (dtype.kindChar === "b") return v !== 0;
  if (dtype.kindChar === "i" || dtype.kindChar === "u") return BigInt(v as number | bigint);
  return v as PickleValue;
};

const forModules = (modules: string[], name: string, r: PickleReducer): [string, PickleReducer][] => modules.map((m) => [`${m}.${name}`, r]);

/** numpy 2.x (`numpy._core`) and 1.x (`numpy.core`) constructors. */
export const NUMPY_REDUCERS: PickleReducerTable = new Map<string, PickleReducer>([
  ["numpy.dtype", dtypeReducer],
  ...forModules(["numpy._core.numeric", "numpy.core.numeric"], "_frombuffer", frombufferReducer),
  ...forModules(["numpy._core.multiarray", "numpy.core.multiarray"], "_reconstruct", reconstructReducer),
  ...forModules(["numpy._core.multiarray", "numpy.core.multiarray"], "scalar", scalarReducer),
]);

/** A reduced call's name, for "data is X" messages (`_frombuffer of float16` etc.). */
export function describeArrayLike(v: PickleValue | undefined): string {
  if (v instanceof NumpyArray) return v.describe();
  const call = v as { cls?: PickleClassRef; args?: PickleValue[]; state?: PickleValue } | undefined;
  if (call?.cls instanceof PickleClassRef && /numpy.*(_frombuffer|_reconstruct)$/.test(call.cls.qualifiedName)) {
    const dtype = [...(call.args ?? []), ...(Array.isArray(call.state) ? call.state : [])].find((x) => x instanceof NumpyDType);
    return `a numpy array of unsupported dtype ${dtype instanceof NumpyDType ? dtype.str : "?"}`;
  }
  return describePickleValue(v);
}

export type { PickleCall };
