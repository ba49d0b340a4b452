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
  static async create(nwb: NwbFile, name: string, description: string, columns: readonly ColumnSpec[]): Promise<TimeIntervals> {
    const path = `intervals/${name}`;
    if (nwb.has(path)) throw new Error(`${nwb.path} already has ${path}`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (RESERVED.has(c.name) || seen.has(c.name)) throw new Error(`column name "${c.name}" is reserved or repeated in ${path}`);
      if (c.name.includes("/")) throw new Error(`column name "${c.name}" contains "/"`);
      seen.add(c.name);
    }
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
      const ds = nwb.createAppendable(`${path}/${colName}`, { type, rowShape: cellShape });
      describe(colName, desc);
      return ds;
    };
    const start = column("start_time", "float64", "Start time of epoch, in seconds");
    const stop = column("stop_time", "float64", "Stop time of epoch, in seconds");
    const bools = columns.filter((c) => c.type === "bool");
    for (const c of bools) {
      createBoolPlaceholder(nwb.file, `${path}/${c.name}`, { rowShape: c.cellShape ?? [] });
      describe(c.name, c.description);
    }
    const id = nwb.createAppendable(`${path}/id`, { type: "int64" });
    setTypeAttrs(nwb.dataset(`${path}/id`), "hdmf-common", "ElementIdentifiers", randomUUID());
    if (bools.length > 0) await nwb.reopen((p) => convertToBoolEnum(p, bools.map((c) => `${path}/${c.name}`)));
    const cells = new Map<string, AppendableDataset>();
    for (const c of columns) {
      cells.set(c.name, c.type === "bool" ? nwb.openAppendable(`${path}/${c.name}`, "int8") : column(c.name, STORAGE[c.type], c.description, c.cellShape));
    }

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
