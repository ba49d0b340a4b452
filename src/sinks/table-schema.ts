/**
 * What the typed-column sink needs to know about one settings value to store it in a column:
 * its kind (dtype + cell shape), which NWB column type holds it, and the row value to append.
 * A column holds a value when both kinds are identical, with one widening: a float64 column takes
 * an integer it holds exactly (|n| ≤ 2^53), as a float, because JSON publishers write the float
 * `2.0` as `2` (docs/protocol.md). Nothing else: no narrowing, no text fallback, so the type that
 * went in is the type pynwb reads back.
 */
import { type CellDType, type CellValue, SettingArray, dtypeOf, shapeOf } from "../events/settings-values.js";
import type { RowValue } from "../nwb/hdf5/appendable-dataset.js";
import type { ColumnType } from "../nwb/time-intervals.js";
import { textProblem } from "../nwb/hdf5/text-rules.js";

/** Integers a float64 holds exactly (and that stay distinct from their neighbours): |n| ≤ 2^53. */
const MAX_EXACT_INT = 2n ** 53n;

function exactAsFloat(n: bigint): boolean {
  return n >= -MAX_EXACT_INT && n <= MAX_EXACT_INT;
}

/**
 * The value as a column of kind `column` stores it, when that takes a widening: an int64 value (or
 * int64 array of the column's shape) in a float64 column, every integer within ±2^53, becomes the
 * float it equals. Undefined when no widening applies (the kinds are then compared as they are).
 */
export function widenFor(column: CellKind, v: CellValue): CellValue | undefined {
  if (column.dtype !== "float64") return undefined;
  if (typeof v === "bigint") return exactAsFloat(v) ? Number(v) : undefined;
  if (v instanceof SettingArray && v.dtype === "int64" && sameShape(column.shape, v.shape)) {
    const ints = v.data as BigInt64Array;
    const out = new Float64Array(ints.length);
    for (let i = 0; i < ints.length; i++) {
      const n = ints[i]!;
      if (!exactAsFloat(n)) return undefined;
      out[i] = Number(n);
    }
    return new SettingArray("float64", v.shape, out);
  }
  return undefined;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export interface CellKind {
  dtype: CellDType;
  /** `[]` for a scalar; the full array shape otherwise. */
  shape: readonly number[];
}

export function kindOf(v: CellValue): CellKind {
  return { dtype: dtypeOf(v), shape: shapeOf(v) };
}

export function sameKind(a: CellKind, b: CellKind): boolean {
  return a.dtype === b.dtype && sameShape(a.shape, b.shape);
}

/** Why a column of kind `column` cannot take a value of kind `value`; undefined when it can. */
export function kindChange(column: CellKind, value: CellKind): string | undefined {
  if (sameKind(column, value)) return undefined;
  const shapeText = (k: CellKind): string => (k.shape.length === 0 ? "scalar" : `array (${k.shape.join(", ")})`);
  if (column.dtype !== value.dtype && shapeText(column) === shapeText(value)) return `dtype ${column.dtype} -> ${value.dtype}`;
  if (column.dtype === value.dtype) return `shape ${shapeText(column)} -> ${shapeText(value)}`;
  return `${column.dtype} ${shapeText(column)} -> ${value.dtype} ${shapeText(value)}`;
}

export const COLUMN_TYPE: Record<CellDType, ColumnType> = { int64: "int64", float64: "float64", bool: "bool", string: "text" };

/** The value TimeIntervals.appendRow takes for one cell: a scalar, or flat row-major data. */
export function rowValueOf(v: CellValue): RowValue {
  return v instanceof SettingArray ? (v.data as RowValue) : v;
}

/** Why a cell's text cannot be stored in HDF5 (NUL, lone surrogate), or undefined when it can. */
export function cellTextProblem(v: CellValue): string | undefined {
  if (typeof v === "string") return textProblem(v);
  if (v instanceof SettingArray && v.dtype === "string") {
    for (const s of v.data as string[]) {
      const problem = textProblem(s);
      if (problem) return problem;
    }
  }
  return undefined;
}
