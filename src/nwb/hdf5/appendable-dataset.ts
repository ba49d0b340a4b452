/**
 * A chunked, resizable HDF5 dataset that grows along its first axis. Rows are staged in memory and
 * written in one resize + write per {@link AppendableDataset.flush}, which is what makes appends
 * cheap (one h5wasm call per batch instead of per row). Rows are written in place: the dataset is
 * never rewritten.
 */
import { type H5File, type H5Module, errorText } from "./h5wasm.js";
import { withHeapBytes, withHeapVlenStrings } from "./heap.js";
import { NwbError } from "../../errors.js";

/** Element types we store. `text` is variable-length UTF-8 (as h5py writes `str`). */
export type ElementType = "float64" | "int64" | "int8" | "uint8" | "text";

export type RowValue = number | bigint | boolean | string | ArrayLike<number> | ArrayLike<bigint> | readonly string[];

const H5_DTYPE: Record<ElementType, string> = { float64: "<d", int64: "<q", int8: "<b", uint8: "<B", text: "S" };
const ELEMENT_BYTES: Record<Exclude<ElementType, "text">, number> = { float64: 8, int64: 8, int8: 1, uint8: 1 };

export interface AppendableSpec {
  type: ElementType;
  /** Shape of one row: `[]` for scalars, `[3]` for a 3-vector, … */
  rowShape?: readonly number[];
  /** Rows per chunk (first axis). */
  chunkRows?: number;
}

/**
 * Rows per chunk when the caller names none: about 8 KiB per chunk (HDF5 allocates whole chunks,
 * and settings tables are often short). Every growing dataset of a table uses this, bool columns
 * included (bool-dtype.ts), so a table's columns are chunked alike.
 */
export function defaultChunkRows(rowShape: readonly number[]): number {
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  return Math.max(16, Math.min(1024, Math.floor(8192 / Math.max(1, rowSize * 8))));
}

export class AppendableDataset {
  private pending: RowValue[] = [];
  /** A new value for the last row already written (rewritten in place at the next flush). */
  private lastOverride: RowValue | undefined;
  private written: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;

  private constructor(
    private readonly module: H5Module,
    private file: H5File,
    readonly path: string,
    readonly type: ElementType,
    rowShape: readonly number[],
    writtenRows: number,
  ) {
    this.rowShape = rowShape;
    this.rowSize = rowShape.reduce((a, b) => a * b, 1);
    this.written = writtenRows;
  }

  /** Create an empty dataset at `path` (its parent group must exist). */
  static create(module: H5Module, file: H5File, path: string, spec: AppendableSpec): AppendableDataset {
    const rowShape = spec.rowShape ?? [];
    const chunkRows = spec.chunkRows ?? defaultChunkRows(rowShape);
    const slash = path.lastIndexOf("/");
    const parent = slash <= 0 ? file : file.get(path.slice(0, slash));
    if (!parent || !("create_dataset" in parent)) throw new NwbError(`cannot create ${path}: parent group is missing`);
    try {
      parent.create_dataset({
        name: path.slice(slash + 1),
        data: spec.type === "text" ? [] : emptyTyped(spec.type),
        shape: [0, ...rowShape],
        maxshape: [null, ...rowShape],
        chunks: [chunkRows, ...rowShape.map((d) => Math.max(1, d))],
        dtype: H5_DTYPE[spec.type],
      });
    } catch (err) {
      throw new NwbError(`cannot create dataset ${path}: ${errorText(err)}`);
    }
    return new AppendableDataset(module, file, path, spec.type, rowShape, 0);
  }

  /** Attach to an existing dataset (reopened file), appending after its current rows. */
  static open(module: H5Module, file: H5File, path: string, type: ElementType): AppendableDataset {
    const ds = file.get(path);
    if (!ds || !("shape" in ds) || !ds.shape) throw new NwbError(`${path} is not a dataset`);
    const [rows, ...rowShape] = ds.shape;
    return new AppendableDataset(module, file, path, type, rowShape, rows ?? 0);
  }

  /** Point at the same dataset in a reopened file (see NwbFile.reopen). */
  rebind(file: H5File): void {
    this.file = file;
  }

  /** Rows in the dataset once pending rows are flushed. */
  get length(): number {
    return this.written + this.pending.length;
  }

  /** Rows already written to the file. */
  get writtenLength(): number {
    return this.written;
  }

  get pendingLength(): number {
    return this.pending.length;
  }

  append(row: RowValue): void {
    this.pending.push(row);
  }

  /**
   * Replace the last row (staged or written). A written row is rewritten in place at the next
   * flush (one small write); nothing else of the dataset is touched.
   */
  replaceLast(row: RowValue): void {
    if (this.pending.length > 0) this.pending[this.pending.length - 1] = row;
    else if (this.written > 0) this.lastOverride = row;
    else throw new Error(`${this.path} has no row to replace`);
  }

  /** Remove the last row (staged, or written: the dataset shrinks by one at once). */
  dropLast(): void {
    if (this.pending.length > 0) {
      this.pending.pop();
      return;
    }
    if (this.written === 0) throw new Error(`${this.path} has no row to remove`);
    this.lastOverride = undefined;
    this.truncate(this.written - 1);
  }

  /** Write staged rows: one resize, one write (plus one in-place write of a replaced last row). */
  flush(): void {
    if (this.lastOverride !== undefined) {
      const row = this.lastOverride;
      this.writeRows([row], this.written - 1, false);
      this.lastOverride = undefined;
    }
    const rows = this.pending;
    if (rows.length === 0) return;
    this.writeRows(rows, this.written, true);
    this.written += rows.length;
    this.pending = [];
  }

  private writeRows(rows: RowValue[], start: number, grow: boolean): void {
    const n = rows.length;
    const fileId = this.file.file_id;
    try {
      const count = [BigInt(n), ...this.rowShape.map(BigInt)];
      const offset = [0n, ...this.rowShape.map(() => 0n)];
      offset[0] = BigInt(start);
      const strides = count.map(() => 1n);
      // Rows are packed (and text checked) before the dataset grows: refused rows leave no trace.
      const write = (ptr: number): void => {
        if (grow) this.module.resize_dataset(fileId, this.path, [BigInt(start + n), ...this.rowShape.map(BigInt)]);
        this.module.set_dataset_data(fileId, this.path, count, offset, strides, BigInt(ptr));
      };
      if (this.type === "text") withHeapVlenStrings(this.module, flattenText(rows, this.rowSize, this.path), write);
      else withHeapBytes(this.module, packNumeric(this.type, rows, this.rowSize, this.path), write);
    } catch (err) {
      throw new NwbError(`cannot ${grow ? "append" : "rewrite"} ${n} row(s) ${grow ? "to" : "of"} ${this.path}: ${errorText(err)}`);
    }
  }

  /** Shrink to `rows` rows (used by recovery to make table columns agree). */
  truncate(rows: number): void {
    this.pending = [];
    if (rows < this.written) this.lastOverride = undefined;
    if (rows >= this.written) return;
    this.module.resize_dataset(this.file.file_id, this.path, [BigInt(rows), ...this.rowShape.map(BigInt)]);
    this.written = rows;
  }
}

function emptyTyped(type: Exclude<ElementType, "text">): Float64Array | BigInt64Array | Int8Array | Uint8Array {
  switch (type) {
    case "float64":
      return new Float64Array(0);
    case "int64":
      return new BigInt64Array(0);
    case "int8":
      return new Int8Array(0);
    case "uint8":
      return new Uint8Array(0);
  }
}

function rowLength(row: RowValue): number {
  return typeof row === "object" && row !== null ? row.length : 1;
}

function checkRow(row: RowValue, rowSize: number, path: string): void {
  const isScalarRow = typeof row !== "object";
  if ((rowSize === 1 && !isScalarRow && rowLength(row) !== 1) || (rowSize !== 1 && rowLength(row) !== rowSize)) {
    throw new NwbError(`a row of ${path} needs ${rowSize} value(s), got ${rowLength(row)}`);
  }
}

/** Typed arrays use the platform's byte order; HDF5 memory buffers here are little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type NumericScalar = number | bigint | boolean | string;

function packNumeric(type: Exclude<ElementType, "text">, rows: RowValue[], rowSize: number, path: string): Uint8Array {
  if (!LITTLE_ENDIAN) return packNumericPortable(type, rows, rowSize, path);
  const total = rows.length * rowSize;
  // Same conversions as the DataView setters below (Number(), ToBigInt64, ToInt8/ToUint8), but
  // stored through typed arrays, one monomorphic loop per type.
  switch (type) {
    case "float64": {
      const out = new Float64Array(total);
      let i = 0;
      for (const row of rows) {
        checkRow(row, rowSize, path);
        if (row instanceof Float64Array) {
          out.set(row, i);
          i += rowSize;
        } else if (typeof row === "object") {
          for (let j = 0; j < rowSize; j++) out[i++] = Number((row as ArrayLike<NumericScalar>)[j]);
        } else {
          out[i++] = Number(row);
        }
      }
      return new Uint8Array(out.buffer);
    }
    case "int64": {
      const out = new BigInt64Array(total);
      let i = 0;
      for (const row of rows) {
        checkRow(row, rowSize, path);
        if (row instanceof BigInt64Array) {
          out.set(row, i);
          i += rowSize;
        } else if (typeof row === "object") {
          for (let j = 0; j < rowSize; j++) out[i++] = toBigInt((row as ArrayLike<NumericScalar>)[j]!);
        } else {
          out[i++] = toBigInt(row);
        }
      }
      return new Uint8Array(out.buffer);
    }
    case "int8":
    case "uint8": {
      const out = type === "int8" ? new Int8Array(total) : new Uint8Array(total);
      let i = 0;
      for (const row of rows) {
        checkRow(row, rowSize, path);
        if (typeof row === "object") {
          for (let j = 0; j < rowSize; j++) out[i++] = Number((row as ArrayLike<NumericScalar>)[j]);
        } else {
          out[i++] = Number(row);
        }
      }
      return new Uint8Array(out.buffer);
    }
  }
}

function toBigInt(v: NumericScalar): bigint {
  return typeof v === "bigint" ? v : BigInt(typeof v === "boolean" ? Number(v) : v);
}

/** Byte-order independent packing (used on big-endian hosts). */
function packNumericPortable(type: Exclude<ElementType, "text">, rows: RowValue[], rowSize: number, path: string): Uint8Array {
  const total = rows.length * rowSize;
  const bytes = new Uint8Array(total * ELEMENT_BYTES[type]);
  const put = numericWriter(type, bytes);
  let i = 0;
  for (const row of rows) {
    checkRow(row, rowSize, path);
    if (typeof row === "object") {
      for (let j = 0; j < rowSize; j++) put(i++, (row as ArrayLike<number | bigint | string>)[j]!);
    } else {
      put(i++, row);
    }
  }
  return bytes;
}

function numericWriter(type: Exclude<ElementType, "text">, bytes: Uint8Array): (i: number, v: number | bigint | boolean | string) => void {
  const view = new DataView(bytes.buffer);
  switch (type) {
    case "float64":
      return (i, v) => view.setFloat64(i * 8, Number(v), true);
    case "int64":
      return (i, v) => view.setBigInt64(i * 8, typeof v === "bigint" ? v : BigInt(typeof v === "boolean" ? Number(v) : v), true);
    case "int8":
      return (i, v) => view.setInt8(i, Number(v));
    case "uint8":
      return (i, v) => view.setUint8(i, Number(v));
  }
}

/** The rows' strings in order (the heap encoder refuses text HDF5 cannot store). */
function flattenText(rows: RowValue[], rowSize: number, path: string): string[] {
  const out: string[] = [];
  for (const row of rows) {
    checkRow(row, rowSize, path);
    if (typeof row === "string") out.push(row);
    else if (typeof row === "object") for (let j = 0; j < rowSize; j++) out.push(String((row as ArrayLike<unknown>)[j]));
    else out.push(String(row));
  }
  return out;
}
