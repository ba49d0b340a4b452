/**
 * What an NWB file holds: every time series and table, found by neurodata_type wherever it is, with
 * its row count and what is wrong with it. The one place rows are counted — `demo`'s summary,
 * `recover`'s comparison and the tests all use it, so they cannot disagree.
 *
 * Rows of an object are the rows every one of its datasets holds, i.e. the shortest readable one:
 * - a TimeSeries (AnnotationSeries included): `data` and `timestamps` (when stored);
 * - a DynamicTable (TimeIntervals included, any type with `colnames`): `id` and every column.
 * A column counts only if its data can be read: after a kill, HDF5 can hold a dataset whose shape
 * is known but whose chunks lie past the end of the file. Columns of different lengths (a write
 * torn by a crash), missing or unreadable columns, and an object asked for by type that is neither a
 * table nor a series with its time, are reported as problems, not thrown. {@link rootProblems}
 * checks the file's own required datasets.
 */
import { errorText, h5wasm } from "./hdf5/h5wasm.js";
import type { NwbFileReader, TypedObject } from "./nwb-file.js";

export interface InventoryEntry extends TypedObject {
  rows: number;
  /** Table columns in `colnames` order (DynamicTables only). */
  columns?: string[];
}

export interface Inventory {
  objects: InventoryEntry[];
  /** `path: problem` for every object that is torn, incomplete or unreadable. */
  problems: string[];
}

/** Types whose rows we count: time series (data along time) and tables. */
function shapeOf(nwb: NwbFileReader, o: TypedObject): { datasets: string[]; columns?: string[] } | undefined {
  if (o.kind !== "group") return undefined;
  const colnames = nwb.attr(o.path, "colnames");
  if (Array.isArray(colnames)) {
    const columns = colnames.map(String);
    return { datasets: ["id", ...columns], columns };
  }
  if (nwb.has(`${o.path}/data`) && (nwb.has(`${o.path}/timestamps`) || nwb.attr(`${o.path}/starting_time`, "rate") !== undefined)) {
    return { datasets: nwb.has(`${o.path}/timestamps`) ? ["data", "timestamps"] : ["data"] };
  }
  return undefined;
}

/**
 * The series and tables of a file (optionally only of these neurodata types), with rows. `check`
 * (default true) reads every dataset once to prove it is readable; false trusts the shapes.
 */
export function inventory(nwb: NwbFileReader, options: { types?: readonly string[]; check?: boolean } = {}): Inventory {
  const objects: InventoryEntry[] = [];
  const problems: string[] = [];
  const check = options.check ?? true;
  for (const o of nwb.findByType(...(options.types ?? []))) {
    const shape = shapeOf(nwb, o);
    if (!shape) {
      // Asked for by type, yet neither a table nor a series with its time: a layout a kill cut
      // short (pynwb cannot construct a series without timestamps or a rate).
      if (options.types !== undefined && o.kind === "group") {
        const lacking = ["data", "timestamps"].filter((n) => !nwb.has(`${o.path}/${n}`));
        problems.push(`${o.path} lacks ${lacking.length > 0 ? lacking.join(", ") : "a rate"}`);
        objects.push({ ...o, rows: 0 });
      }
      continue;
    }
    const length = (name: string): number | undefined => {
      const d = nwb.get(`${o.path}/${name}`);
      if (!(d instanceof h5wasm.Dataset)) return undefined;
      if (check) {
        const unreadable = readProblem(d);
        if (unreadable) problems.push(`${o.path}/${name} ${unreadable}`);
      }
      return d.shape?.[0] ?? undefined;
    };
    const lengths = shape.datasets.map((c) => [c, length(c)] as const);
    const missing = lengths.filter(([, n]) => n === undefined).map(([c]) => c);
    if (missing.length > 0) problems.push(`${o.path} lacks ${missing.join(", ")}`);
    const known = lengths.filter(([, n]) => n !== undefined).map(([, n]) => n!);
    const rows = known.length > 0 ? Math.min(...known) : 0;
    if (known.some((k) => k !== rows)) {
      problems.push(`${o.path} has columns of different lengths (${lengths.map(([c, k]) => `${c}: ${k ?? "missing"}`).join(", ")}), a write torn by a crash`);
    }
    objects.push({ ...o, rows, ...(shape.columns ? { columns: shape.columns } : {}) });
  }
  return { objects, problems };
}

/**
 * The datasets at the root of every NWB file (NWBFile's required fields): pynwb cannot read a file
 * that lacks one (a segment a kill left before its first complete flush can).
 */
const REQUIRED_ROOT = ["identifier", "session_description", "session_start_time", "timestamps_reference_time", "file_create_date"];

/** What is missing or unreadable among the file's required root datasets. */
export function rootProblems(nwb: NwbFileReader): string[] {
  const problems: string[] = [];
  for (const name of REQUIRED_ROOT) {
    const d = nwb.get(name);
    const problem = d instanceof h5wasm.Dataset ? readProblem(d) : "is missing";
    if (problem) problems.push(`/${name} ${problem}`);
  }
  return problems;
}

/** "cannot be read (…)" when reading the dataset's data fails (after a kill its chunks can lie past the file's end). */
function readProblem(d: InstanceType<typeof h5wasm.Dataset>): string | undefined {
  try {
    void d.value;
    return undefined;
  } catch (err) {
    return `cannot be read (${errorText(err)})`;
  }
}
