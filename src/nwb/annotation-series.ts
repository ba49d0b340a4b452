/**
 * NWB `AnnotationSeries` (core): one text row per timestamp, in /acquisition. Rows are staged and
 * written in place by the file's flush; both datasets grow together.
 * Created ({@link AnnotationSeries.create}), opened to append ({@link AnnotationSeries.open}) and
 * read from any file, ours or not ({@link readAnnotationSeries}, found by neurodata_type).
 */
import { randomUUID } from "node:crypto";
import type { AppendableDataset } from "./hdf5/appendable-dataset.js";
import { setFloatAttr, setInt64Attr, setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { NwbError } from "../errors.js";
import type { NwbFile, NwbFileReader } from "./nwb-file.js";

/** An AnnotationSeries as read from a file. */
export interface AnnotationSeriesData {
  path: string;
  name: string;
  description: string;
  timestamps: number[];
  data: string[];
}

/** Read the AnnotationSeries at `path` (any group of that neurodata_type, anywhere in the file). */
export function readAnnotationSeries(nwb: NwbFileReader, path: string): AnnotationSeriesData {
  if (nwb.attr(path, "neurodata_type") !== "AnnotationSeries") throw new NwbError(`${nwb.path}: ${path} is not an AnnotationSeries`, nwb.path);
  const data = nwb.dataset(`${path}/data`).value as ArrayLike<string>;
  const timestamps = nwb.dataset(`${path}/timestamps`).value as ArrayLike<number>;
  const rows = Math.min(data.length, timestamps.length);
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    description: String(nwb.attr(path, "description") ?? ""),
    timestamps: Array.from(timestamps).slice(0, rows),
    data: Array.from(data).slice(0, rows),
  };
}

export class AnnotationSeries {
  private constructor(
    readonly name: string,
    private readonly data: AppendableDataset,
    private readonly timestamps: AppendableDataset,
  ) {}

  static create(nwb: NwbFile, name: string, description: string): AnnotationSeries {
    const path = `acquisition/${name}`;
    if (nwb.has(path)) throw new NwbError(`${nwb.path} already has ${path}`);
    const g = nwb.group(path);
    setTextAttr(g, "comments", "no comments");
    setTextAttr(g, "description", description);
    setTypeAttrs(g, "core", "AnnotationSeries", randomUUID());
    const data = nwb.createAppendable(`${path}/data`, { type: "text", chunkRows: 256 });
    const dataDs = nwb.dataset(`${path}/data`);
    setFloatAttr(dataDs, "conversion", 1.0);
    setFloatAttr(dataDs, "offset", 0.0);
    setFloatAttr(dataDs, "resolution", -1.0);
    setTextAttr(dataDs, "unit", "n/a");
    const timestamps = nwb.createAppendable(`${path}/timestamps`, { type: "float64", chunkRows: 1024 });
    const tsDs = nwb.dataset(`${path}/timestamps`);
    setInt64Attr(tsDs, "interval", 1n);
    setTextAttr(tsDs, "unit", "seconds");
    const series = new AnnotationSeries(name, data, timestamps);
    nwb.register(series);
    return series;
  }

  /** Reattach to a series in a reopened file, appending after its rows. */
  static open(nwb: NwbFile, name: string): AnnotationSeries {
    const path = `acquisition/${name}`;
    const data = nwb.openAppendable(`${path}/data`, "text");
    const timestamps = nwb.openAppendable(`${path}/timestamps`, "float64");
    const rows = Math.min(data.length, timestamps.length);
    data.truncate(rows);
    timestamps.truncate(rows);
    const series = new AnnotationSeries(name, data, timestamps);
    nwb.register(series);
    return series;
  }

  get length(): number {
    return this.timestamps.length;
  }

  append(timestamp: number, text: string): void {
    this.data.append(text);
    this.timestamps.append(timestamp);
  }

  flush(): void {
    this.data.flush();
    this.timestamps.flush();
  }
}
