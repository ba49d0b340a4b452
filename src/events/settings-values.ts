/**
 * Settings values as a typed-column sink stores them: a scalar (int64 as bigint, float64 as number,
 * bool, UTF-8 string) or a fixed-shape array of one of those dtypes, carried as an `ndarray`.
 */
import ndarray from "ndarray";

export type CellDType = "int64" | "float64" | "bool" | "string";
export type Scalar = bigint | number | boolean | string;
export type FlatData = BigInt64Array | Float64Array | Uint8Array | string[];

/** An array-valued setting: row-major `data` of one dtype with a fixed `shape`. */
export class SettingArray {
  constructor(
    readonly dtype: CellDType,
    readonly shape: readonly number[],
    readonly data: FlatData,
  ) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`SettingArray: shape [${shape.join(", ")}] needs ${size} values, got ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** An ndarray view (no copy) for callers that index by coordinates. */
  get nd(): ndarray.NdArray<ndarray.Data> {
    return ndarray(this.data as ndarray.Data, [...this.shape]);
  }

  /** Element i of the flat, row-major data, as a scalar of this array's dtype. */
  at(i: number): Scalar {
    const v = this.data[i];
    if (v === undefined) throw new RangeError(`index ${i} out of range`);
    return this.dtype === "bool" ? v === 1 : (v as Scalar);
  }

  /** Nested JS arrays, e.g. for JSON or comparisons in tests. */
  toNested(): unknown {
    const build = (dim: number, offset: number): unknown => {
      const n = this.shape[dim]!;
      if (dim === this.shape.length - 1) return Array.from({ length: n }, (_, i) => this.at(offset + i));
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return this.shape.length === 0 ? [] : build(0, 0);
  }
}

export type CellValue = Scalar | SettingArray;

export function dtypeOf(v: CellValue): CellDType {
  if (v instanceof SettingArray) return v.dtype;
  switch (typeof v) {
    case "bigint":
      return "int64";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    default:
      return "string";
  }
}

/** Shape of one cell: `[]` for a scalar, the array's shape otherwise. */
export function shapeOf(v: CellValue): readonly number[] {
  return v instanceof SettingArray ? v.shape : [];
}

export function allocate(dtype: CellDType, n: number): FlatData {
  switch (dtype) {
    case "int64":
      return new BigInt64Array(n);
    case "float64":
      return new Float64Array(n);
    case "bool":
      return new Uint8Array(n);
    case "string":
      return new Array<string>(n).fill("");
  }
}

/** Promote dtypes as numpy does for a list literal: bool < int64 < float64 < string. */
export function promote(a: CellDType, b: CellDType): CellDType {
  const rank: Record<CellDType, number> = { bool: 0, int64: 1, float64: 2, string: 3 };
  return rank[a] >= rank[b] ? a : b;
}

/** Convert one scalar to a dtype that can hold it (after {@link promote}). */
export function convertScalar(v: Scalar, to: CellDType): Scalar {
  switch (to) {
    case "bool":
      return v;
    case "int64":
      return typeof v === "boolean" ? (v ? 1n : 0n) : v;
    case "float64":
      return typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
    case "string":
      return scalarToText(v);
  }
}

/** Text of a scalar the way Python's `str()` writes it (used when numpy would promote to str). */
export function scalarToText(v: Scalar): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "bigint") return v.toString();
  if (Number.isNaN(v)) return "nan";
  if (v === Number.POSITIVE_INFINITY) return "inf";
  if (v === Number.NEGATIVE_INFINITY) return "-inf";
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export function storeScalar(data: FlatData, i: number, v: Scalar): void {
  if (data instanceof BigInt64Array) data[i] = v as bigint;
  else if (data instanceof Float64Array) data[i] = v as number;
  else if (data instanceof Uint8Array) data[i] = v ? 1 : 0;
  else data[i] = v as string;
}

/** True when two cells are the same value (NaN equals NaN; arrays compare by dtype, shape, data). */
export function cellsEqual(a: CellValue, b: CellValue): boolean {
  if (a instanceof SettingArray || b instanceof SettingArray) {
    if (!(a instanceof SettingArray && b instanceof SettingArray)) return false;
    if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
    if (a.shape.some((d, i) => d !== b.shape[i])) return false;
    for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) return false;
    return true;
  }
  return typeof a === typeof b && (a === b || Object.is(a, b));
}
