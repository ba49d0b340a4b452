/**
 * NWB `TimeIntervals` (core), a DynamicTable in /intervals: `start_time`, `stop_time`, then
 * VectorData columns of native dtypes (float64, int64, bool, UTF-8 text, fixed-shape arrays as
 * `(n, *shape)`), and the `id` ElementIdentifiers. Rows are staged and written in place by the
 * file's flush; `colnames` is the column order pynwb reads.
 * Created ({@link TimeIntervals.create}), opened to append ({@link TimeIntervals.open}) and read
 * from any file, ours or not ({@link readTimeIntervals}, found by neurodata_type).
 */
import { randomUUID } from "node:crypto";
import type { AppendableDataset, ElementType, RowValue } from "./hdf5/appendable-dataset.js";
import { setTextArrayAttr, setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { convertToBoolEnum, createBoolPlaceholder } from "./hdf5/bool-dtype.js";
import { NwbError } from "../errors.js";
import type { H5Dataset } from "./hdf5/h5wasm.js";
import type { NwbFile, NwbFileReader } from "./nwb-file.js";

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
  static async create(
    nwb: NwbFile,
    name: string,
    description: string,
    columns: readonly ColumnSpec[],
    layout: TableLayoutOptions = {},
  ): Promise<TimeIntervals> {
    const finish = TimeIntervals.layOut(nwb, name, description, columns, layout);
    const bools = columns.filter((c) => c.type === "bool");
    const path = `intervals/${name}`;
    if (bools.length > 0)
      await nwb.reopen((p) =>
        convertToBoolEnum(
          p,
          bools.map((c) => `${path}/${c.name}`),
        ),
      );
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
    if (nwb.has(path)) throw new NwbError(`${nwb.path} already has ${path}`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (RESERVED.has(c.name) || seen.has(c.name)) throw new NwbError(`column name "${c.name}" is reserved or repeated in ${path}`);
      if (c.name.includes("/")) throw new NwbError(`column name "${c.name}" contains "/"`);
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

  /**
   * Reattach to the table `intervals/<name>` of a file opened to append: column types from the
   * stored datatypes, appending after the rows every column holds (a torn tail is cut off).
   */
  static open(nwb: NwbFile, name: string): TimeIntervals {
    const path = `intervals/${name}`;
    if (nwb.attr(path, "neurodata_type") !== "TimeIntervals") throw new NwbError(`${nwb.path}: ${path} is not a TimeIntervals table`, nwb.path);
    const columns = storedColumns(nwb, path);
    const open = (col: string, type: ElementType): AppendableDataset => nwb.openAppendable(`${path}/${col}`, type);
    const start = open("start_time", "float64");
    const stop = open("stop_time", "float64");
    const id = open("id", "int64");
    const cells = new Map(columns.map((c) => [c.name, open(c.name, STORAGE[c.type])] as const));
    const all = [start, stop, id, ...cells.values()];
    const rows = Math.min(...all.map((d) => d.length));
    for (const d of all) d.truncate(rows);
    const table = new TimeIntervals(name, columns, id, start, stop, cells);
    nwb.register(table);
    return table;
  }

  get length(): number {
    return this.id.length;
  }

  /** Stage one row; every column needs a value (arrays as flat row-major data of the cell shape). */
  appendRow(startTime: number, stopTime: number, values: ReadonlyMap<string, RowValue>): void {
    for (const c of this.columns) {
      if (!values.has(c.name)) throw new NwbError(`row for intervals/${this.name} lacks column "${c.name}"`);
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
      throw new NwbError(`row for intervals/${this.name} has ${values.length} value(s) for ${cols.length} column(s)`);
    }
    const cells = this.cellList;
    const isBool = this.isBool;
    for (let i = 0; i < cols.length; i++) {
      const v = values[i];
      if (v === undefined) throw new NwbError(`row for intervals/${this.name} lacks column "${cols[i]!.name}"`);
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
    throw new NwbError(`bool column "${column}" got ${String(x)}`);
  };
  return typeof v === "object" ? Array.from(v as ArrayLike<unknown>, one) : one(v);
}

/** A TimeIntervals table as read from a file. Cells are scalars, or flat arrays for array columns. */
export interface TimeIntervalsData {
  path: string;
  name: string;
  description: string;
  columns: ColumnSpec[];
  id: bigint[];
  startTime: number[];
  stopTime: number[];
  /** Per column (in `columns` order): one cell per row (bool as true/false, int64 as bigint). */
  cells: Map<string, unknown[]>;
}

/** Which of our column types a stored column is; NwbError for anything else. */
function columnTypeOf(ds: H5Dataset, where: string): ColumnType {
  const m = ds.metadata;
  if (m.type === 1 && m.size === 8) return "float64";
  if (m.type === 0 && m.size === 8 && m.signed) return "int64";
  if (m.type === 3 && m.vlen) return "text";
  const members = (m as { enum_type?: { members?: Record<string, number> } }).enum_type?.members;
  if (m.type === 8 && members?.["FALSE"] === 0 && members?.["TRUE"] === 1) return "bool";
  throw new NwbError(`${where}: a column of HDF5 type class ${m.type}, size ${m.size} is not one we can append to`);
}

function storedColumns(nwb: NwbFileReader, path: string): ColumnSpec[] {
  const colnames = nwb.attr(path, "colnames");
  if (!Array.isArray(colnames)) throw new NwbError(`${nwb.path}: ${path} has no colnames`, nwb.path);
  return colnames
    .map(String)
    .filter((c) => c !== "start_time" && c !== "stop_time")
    .map((c) => {
      const ds = nwb.dataset(`${path}/${c}`);
      return {
        name: c,
        type: columnTypeOf(ds, `${nwb.path}: ${path}/${c}`),
        cellShape: (ds.shape ?? []).slice(1),
        description: String(ds.attrs["description"]?.value ?? ""),
      };
    });
}

/** Read the TimeIntervals table at `path` (any group of that neurodata_type, anywhere in the file). */
export function readTimeIntervals(nwb: NwbFileReader, path: string): TimeIntervalsData {
  if (nwb.attr(path, "neurodata_type") !== "TimeIntervals") throw new NwbError(`${nwb.path}: ${path} is not a TimeIntervals table`, nwb.path);
  const columns = storedColumns(nwb, path);
  const flat = (col: string): unknown[] => Array.from(nwb.dataset(`${path}/${col}`).value as ArrayLike<unknown>);
  const id = flat("id").map((v) => BigInt(v as bigint | number));
  const startTime = flat("start_time") as number[];
  const stopTime = flat("stop_time") as number[];
  const lengths = [id.length, startTime.length, stopTime.length, ...columns.map((c) => nwb.dataset(`${path}/${c.name}`).shape?.[0] ?? 0)];
  const rows = Math.min(...lengths);
  const cells = new Map<string, unknown[]>();
  for (const c of columns) {
    const size = (c.cellShape ?? []).reduce((a, b) => a * b, 1);
    const values = flat(c.name).map((v) => (c.type === "bool" ? v === 1 || v === true : v));
    const perRow = (c.cellShape ?? []).length === 0 ? values.slice(0, rows) : Array.from({ length: rows }, (_, i) => values.slice(i * size, (i + 1) * size));
    cells.set(c.name, perRow);
  }
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    description: String(nwb.attr(path, "description") ?? ""),
    columns,
    id: id.slice(0, rows),
    startTime: startTime.slice(0, rows),
    stopTime: stopTime.slice(0, rows),
    cells,
  };
}
