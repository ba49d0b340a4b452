/**
 * What the typed-column sink needs to know about one settings value to store it in a column:
 * its kind (dtype + cell shape), which NWB column type holds it, and the row value to append.
 * A column holds a value exactly only when both kinds are identical: no widening (int → float),
 * no narrowing, no text fallback, so the type that went in is the type pynwb reads back.
 */
import { type CellDType, type CellValue, SettingArray, dtypeOf, shapeOf } from "../events/settings-values.js";
import type { RowValue } from "../nwb/hdf5/appendable-dataset.js";
import type { ColumnType } from "../nwb/time-intervals.js";
import { textProblem } from "../nwb/hdf5/text-rules.js";

export interface CellKind {
  dtype: CellDType;
  /** `[]` for a scalar; the full array shape otherwise. */
  shape: readonly number[];
}

export function kindOf(v: CellValue): CellKind {
  return { dtype: dtypeOf(v), shape: shapeOf(v) };
}

export function sameKind(a: CellKind, b: CellKind): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
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
