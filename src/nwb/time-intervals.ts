/**
 * NWB `TimeIntervals` (core), a DynamicTable in /intervals: `start_time`, `stop_time`, then
 * VectorData columns of native dtypes (float64, int64, bool, UTF-8 text, fixed-shape arrays as
 * `(n, *shape)`), and the `id` ElementIdentifiers. Rows are staged and written in place by the
 * file's flush; `colnames` is the column order pynwb reads.
 */
import { randomUUID } from "node:crypto";
import type { AppendableDataset, ElementType, RowValue } from "./hdf5/appendable-dataset.js";
import { setTextArrayAttr, setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { convertToBoolEnum, createBoolPlaceholder } from "./hdf5/bool-dtype.js";
import type { NwbFile } from "./nwb-file.js";

export type ColumnType = "float64" | "int64" | "bool" | "text";

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Shape of one cell; `[]` (default) for scalars. */
  cellShape?: readonly number[];
  description: string;
}

/**
 * How each column type is appended. A bool column is h5py's bool (enum int8 FALSE=0/TRUE=1): created
 * as a placeholder and converted while the file is briefly closed (src/nwb/hdf5/bool-dtype.ts); rows are
 * its raw bytes 0/1.
 */
const STORAGE: Record<ColumnType, ElementType> = { float64: "float64", int64: "int64", bool: "int8", text: "text" };

const RESERVED = new Set(["id", "start_time", "stop_time"]);

/** Bytes one element takes in the file: vlen text is a 16-byte heap reference (its text lives apart). */
const ELEMENT_FILE_BYTES: Record<ColumnType, number> = { float64: 8, int64: 8, bool: 1, text: 16 };

/**
 * The table's chunk budget: one chunk of every column together (the bytes HDF5 allocates at the
 * first row) stays within this, so a wide table has small chunks and a file stays proportional to
 * its data (10,000 columns x 3 rows was 109 MB with 8 KiB chunks per column; docs/table-sink.md).
 */
export const TABLE_CHUNK_BUDGET_BYTES = 256 * 1024;
/** Largest chunk along the rows (a narrow table with many rows writes 1,024 rows per chunk). */
export const MAX_CHUNK_ROWS = 1024;

export interface TableLayoutOptions {
  /** Rows the table is expected to get (e.g. a converted log's event count); chunks need not be larger. */
  expectedRows?: number;
}

/**
 * Rows per chunk, the same for every column of the table: the largest power of two such that one
 * chunk of every column fits {@link TABLE_CHUNK_BUDGET_BYTES}, at most {@link MAX_CHUNK_ROWS},
 * and no larger than the expected row count (rounded up to a power of two), at least 1.
 */
export function tableChunkRows(columns: readonly ColumnSpec[], options: TableLayoutOptions = {}): number {
  let rowBytes = 3 * 8; // start_time, stop_time, id
  for (const c of columns) {
    const size = (c.cellShape ?? []).reduce((a, b) => a * Math.max(1, b), 1);
    rowBytes += ELEMENT_FILE_BYTES[c.type] * size;
  }
  let rows = floorPow2(Math.max(1, Math.floor(TABLE_CHUNK_BUDGET_BYTES / rowBytes)));
  rows = Math.min(rows, MAX_CHUNK_ROWS);
  if (options.expectedRows !== undefined && Number.isFinite(options.expectedRows)) rows = Math.min(rows, ceilPow2(Math.max(1, options.expectedRows)));
  return Math.max(1, rows);
}

function floorPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

function ceilPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

export class TimeIntervals {
  private nextId: bigint;
  /** The columns' datasets in column order (`columns[i]` → `cellList[i]`). */
  private readonly cellList: AppendableDataset[];
  /** Per column: is it a bool column (rows converted to the enum's raw bytes)? */
  private readonly isBool: boolean[];

  private constructor(
    readonly name: string,
    readonly columns: readonly ColumnSpec[],
    private readonly id: AppendableDataset,
    private readonly start: AppendableDataset,
    private readonly stop: AppendableDataset,
    private readonly cells: Map<string, AppendableDataset>,
  ) {
    this.nextId = BigInt(id.length);
    this.cellList = columns.map((c) => cells.get(c.name)!);
    this.isBool = columns.map((c) => c.type === "bool");
  }

  /** Create the table. With bool columns the file is closed and reopened once (NwbFile.reopen). */
  static async create(nwb: NwbFile, name: string, description: string, columns: readonly ColumnSpec[], layout: TableLayoutOptions = {}): Promise<TimeIntervals> {
    const finish = TimeIntervals.layOut(nwb, name, description, columns, layout);
    const bools = columns.filter((c) => c.type === "bool");
    const path = `intervals/${name}`;
    if (bools.length > 0) await nwb.reopen((p) => convertToBoolEnum(p, bools.map((c) => `${path}/${c.name}`)));
    return finish();
  }

  /** {@link create} without waiting: only for tables without bool columns (those need a reopen). */
  static createNow(nwb: NwbFile, name: string, description: string, columns: readonly ColumnSpec[], layout: TableLayoutOptions = {}): TimeIntervals {
    if (columns.some((c) => c.type === "bool")) throw new Error(`intervals/${name} has bool columns: use TimeIntervals.create`);
    return TimeIntervals.layOut(nwb, name, description, columns, layout)();
  }

  /** Everything up to the bool conversion; the returned function makes the other columns and the table. */
  private static layOut(nwb: NwbFile, name: string, description: string, columns: readonly ColumnSpec[], layout: TableLayoutOptions): () => TimeIntervals {
    const path = `intervals/${name}`;
    if (nwb.has(path)) throw new Error(`${nwb.path} already has ${path}`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (RESERVED.has(c.name) || seen.has(c.name)) throw new Error(`column name "${c.name}" is reserved or repeated in ${path}`);
      if (c.name.includes("/")) throw new Error(`column name "${c.name}" contains "/"`);
      seen.add(c.name);
    }
    const chunkRows = tableChunkRows(columns, layout);
    const g = nwb.group(path);
    setTextArrayAttr(g, "colnames", ["start_time", "stop_time", ...columns.map((c) => c.name)]);
    setTextAttr(g, "description", description);
    setTypeAttrs(g, "core", "TimeIntervals", randomUUID());

    const describe = (colName: string, desc: string): void => {
      const h = nwb.dataset(`${path}/${colName}`);
      setTextAttr(h, "description", desc);
      setTypeAttrs(h, "hdmf-common", "VectorData", randomUUID());
    };
    const column = (colName: string, type: ElementType, desc: string, cellShape: readonly number[] = []): AppendableDataset => {
      const ds = nwb.createAppendable(`${path}/${colName}`, { type, rowShape: cellShape, chunkRows });
      describe(colName, desc);
      return ds;
    };
    const start = column("start_time", "float64", "Start time of epoch, in seconds");
    const stop = column("stop_time", "float64", "Stop time of epoch, in seconds");
    const bools = columns.filter((c) => c.type === "bool");
    for (const c of bools) {
      createBoolPlaceholder(nwb.file, `${path}/${c.name}`, { rowShape: c.cellShape ?? [], chunkRows });
      describe(c.name, c.description);
    }
    const id = nwb.createAppendable(`${path}/id`, { type: "int64", chunkRows });
    setTypeAttrs(nwb.dataset(`${path}/id`), "hdmf-common", "ElementIdentifiers", randomUUID());
    return () => {
      const cells = new Map<string, AppendableDataset>();
      for (const c of columns) {
        cells.set(c.name, c.type === "bool" ? nwb.openAppendable(`${path}/${c.name}`, "int8") : column(c.name, STORAGE[c.type], c.description, c.cellShape));
      }
      const table = new TimeIntervals(name, columns, id, start, stop, cells);
      nwb.register(table);
      return table;
    };
  }

  get length(): number {
    return this.id.length;
  }

  /** Stage one row; every column needs a value (arrays as flat row-major data of the cell shape). */
  appendRow(startTime: number, stopTime: number, values: ReadonlyMap<string, RowValue>): void {
    for (const c of this.columns) {
      if (!values.has(c.name)) throw new Error(`row for intervals/${this.name} lacks column "${c.name}"`);
    }
    for (const c of this.columns) {
      const v = values.get(c.name)!;
      this.cells.get(c.name)!.append(c.type === "bool" ? boolCell(v, c.name) : v);
    }
    this.start.append(startTime);
    this.stop.append(stopTime);
    this.id.append(this.nextId++);
  }

  /**
   * Stage one row from values in column order (`values[i]` for `columns[i]`), as appendRow does
   * without a map lookup per cell. The array is not kept: the caller may reuse it.
   */
  appendRowValues(startTime: number, stopTime: number, values: readonly RowValue[]): void {
    const cols = this.columns;
    if (values.length !== cols.length) {
      throw new Error(`row for intervals/${this.name} has ${values.length} value(s) for ${cols.length} column(s)`);
    }
    const cells = this.cellList;
    const isBool = this.isBool;
    for (let i = 0; i < cols.length; i++) {
      const v = values[i];
      if (v === undefined) throw new Error(`row for intervals/${this.name} lacks column "${cols[i]!.name}"`);
      cells[i]!.append(isBool[i] ? boolCell(v, cols[i]!.name) : v);
    }
    this.start.append(startTime);
    this.stop.append(stopTime);
    this.id.append(this.nextId++);
  }

  /**
   * Replace the last row's values (and times) in place: staged rows are replaced in memory, a
   * written row is rewritten at the next flush. The row keeps its id.
   */
  replaceLastRowValues(startTime: number, stopTime: number, values: readonly RowValue[]): void {
    if (this.length === 0) throw new Error(`intervals/${this.name} has no row to replace`);
    const cols = this.columns;
    if (values.length !== cols.length) {
      throw new Error(`row for intervals/${this.name} has ${values.length} value(s) for ${cols.length} column(s)`);
    }
    for (let i = 0; i < cols.length; i++) {
      const v = values[i];
      if (v === undefined) throw new Error(`row for intervals/${this.name} lacks column "${cols[i]!.name}"`);
      this.cellList[i]!.replaceLast(this.isBool[i] ? boolCell(v, cols[i]!.name) : v);
    }
    this.start.replaceLast(startTime);
    this.stop.replaceLast(stopTime);
  }

  /** Set the last row's `stop_time` (in place once written): an open interval's current end. */
  setLastStopTime(stopTime: number): void {
    if (this.length === 0) throw new Error(`intervals/${this.name} has no row`);
    this.stop.replaceLast(stopTime);
  }

  /** Remove the last row (a written one at once: `id` first, so a torn removal leaves longer columns). */
  dropLastRow(): void {
    if (this.length === 0) throw new Error(`intervals/${this.name} has no row to remove`);
    this.id.dropLast();
    this.nextId--;
    for (const ds of this.cellList) ds.dropLast();
    this.start.dropLast();
    this.stop.dropLast();
  }

  /** Write staged rows; `id` goes last so a torn write is detectable (columns longer than id). */
  flush(): void {
    for (const ds of this.cells.values()) ds.flush();
    this.start.flush();
    this.stop.flush();
    this.id.flush();
  }
}

/** A bool cell as the enum's raw bytes: `true`/`1` → 1, `false`/`0` → 0; anything else throws. */
function boolCell(v: RowValue, column: string): RowValue {
  const one = (x: unknown): number => {
    if (x === true || x === 1) return 1;
    if (x === false || x === 0) return 0;
    throw new Error(`bool column "${column}" got ${String(x)}`);
  };
  return typeof v === "object" ? Array.from(v as ArrayLike<unknown>, one) : one(v);
}
