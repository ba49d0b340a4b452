/**
 * NWB `TimeSeries` / `ElectricalSeries` (core) in /acquisition, written while samples arrive:
 * `data` is time-first in the samples' native type, chunked (see `chooseChunks`) and appended in
 * place. Time is either regular (`starting_time` + `rate`, written once) or explicit
 * (`timestamps`, float64, appended with the data). Which one is fixed at creation: h5wasm cannot
 * delete a dataset, and NWB allows only one of them, so a stream that stops being regular
 * continues in a new series (the rule of src/nwb/stream-writer.ts).
 */
import { randomUUID } from "node:crypto";
import { setFloatAttr, setInt64Attr, setTextAttr, setTypeAttrs } from "./hdf5/attributes.js";
import { ElectrodesTable, type DeviceSpec } from "./electrodes.js";
import type { NwbFile } from "./nwb-file.js";
import { SampleDataset, type SampleType } from "./hdf5/sample-dataset.js";
import { NwbError } from "../errors.js";

export interface TimeSeriesSpec {
  /** Name in /acquisition (must be free). */
  name: string;
  description: string;
  comments?: string;
  type: SampleType;
  /** Shape of one sample: `[channels]`, `[]`, `[channels, n]`, … */
  sampleShape: readonly number[];
  /** NWB `data.unit`; for an ElectricalSeries always "volts". */
  unit: string;
  /** Multiply data by this to get `unit` (NWB `conversion`). Default 1. */
  conversion?: number;
  /** Added after conversion (NWB `offset`). Default 0. */
  offset?: number;
  /** Regular time: first sample's time (s on the file's clock) and rate (Hz). Absent: timestamps. */
  regular?: { startingTime: number; rate: number };
  /** With channel labels (one per `sampleShape[0]`) the series is an ElectricalSeries. */
  electrodes?: { device: DeviceSpec; labels: readonly string[]; location?: string };
}

export class TimeSeriesWriter {
  private timestamps: SampleDataset | null = null;

  private constructor(
    private readonly nwb: NwbFile,
    readonly name: string,
    readonly path: string,
    readonly data: SampleDataset,
    private regular: { startingTime: number; rate: number } | null,
  ) {}

  static create(nwb: NwbFile, spec: TimeSeriesSpec): TimeSeriesWriter {
    const path = `acquisition/${spec.name}`;
    if (nwb.has(path)) throw new NwbError(`${nwb.path} already has ${path}`);
    const electrical = spec.electrodes !== undefined;
    if (electrical && spec.electrodes!.labels.length !== spec.sampleShape[0]) {
      throw new NwbError(`${path}: ${spec.electrodes!.labels.length} channel labels for ${spec.sampleShape[0] ?? 1} channel(s)`);
    }
    let rows: number[] = [];
    if (electrical) {
      rows = ElectrodesTable.forFile(nwb).addGroup(
        spec.electrodes!.device,
        spec.name,
        `electrodes of ${spec.name}`,
        spec.electrodes!.labels,
        spec.electrodes!.location,
      );
    }
    const g = nwb.group(path);
    setTextAttr(g, "comments", spec.comments ?? "no comments");
    setTextAttr(g, "description", spec.description);
    setTypeAttrs(g, "core", electrical ? "ElectricalSeries" : "TimeSeries", randomUUID());
    const data = SampleDataset.create(nwb, `${path}/data`, spec.type, spec.sampleShape);
    const d = nwb.dataset(`${path}/data`);
    setFloatAttr(d, "conversion", spec.conversion ?? 1.0);
    setFloatAttr(d, "offset", spec.offset ?? 0.0);
    setFloatAttr(d, "resolution", -1.0);
    setTextAttr(d, "unit", electrical ? "volts" : spec.unit);
    if (electrical) {
      g.create_dataset({ name: "electrodes", data: BigInt64Array.from(rows, BigInt), shape: [rows.length], dtype: "<q" });
      const e = nwb.dataset(`${path}/electrodes`);
      setTextAttr(e, "description", `the ${rows.length} channel(s) of ${spec.name}`);
      setTypeAttrs(e, "hdmf-common", "DynamicTableRegion", randomUUID());
      e.create_attribute("table", ElectrodesTable.forFile(nwb).reference());
    }
    const w = new TimeSeriesWriter(nwb, spec.name, path, data, spec.regular ?? null);
    if (spec.regular) {
      g.create_dataset({ name: "starting_time", data: spec.regular.startingTime, shape: [], dtype: "<d" });
      const st = nwb.dataset(`${path}/starting_time`);
      setFloatAttr(st, "rate", spec.regular.rate);
      setTextAttr(st, "unit", "seconds");
    } else {
      w.createTimestamps();
    }
    nwb.register(w);
    return w;
  }

  private createTimestamps(): void {
    this.timestamps = SampleDataset.create(this.nwb, `${this.path}/timestamps`, "float64", [], [8192]);
    const ts = this.nwb.dataset(`${this.path}/timestamps`);
    setInt64Attr(ts, "interval", 1n);
    setTextAttr(ts, "unit", "seconds");
  }

  /** Regular time (starting_time, rate), or null once the series has timestamps. */
  get regularTime(): { startingTime: number; rate: number } | null {
    return this.regular;
  }

  /** Samples in the series, staged ones included. */
  get length(): number {
    return this.data.length;
  }

  /** Time of sample `i` (regular series), on the file's clock. */
  timeOf(i: number): number {
    if (!this.regular) throw new NwbError(`${this.path} has timestamps, not a rate`);
    return this.regular.startingTime + i / this.regular.rate;
  }

  /**
   * Append `rows` samples (little-endian bytes, C order, time first). A series with timestamps
   * needs one time per sample.
   */
  append(bytes: Uint8Array, rows: number, times?: Float64Array): void {
    if (this.regular === null) {
      if (times === undefined || times.length !== rows)
        throw new NwbError(`${this.path}: ${rows} sample(s) need ${rows} timestamps, got ${times?.length ?? 0}`);
    } else if (times !== undefined) {
      throw new NwbError(`${this.path} has a rate; timestamps are not taken`);
    }
    this.data.append(bytes, rows);
    if (times !== undefined && rows > 0) this.timestamps!.append(new Uint8Array(times.buffer, times.byteOffset, times.byteLength), rows);
  }

  flush(): void {
    this.data.flush();
    this.timestamps?.flush();
  }

  /** Write whole chunks only (cheap in steady state); {@link flush} writes the rest. */
  flushWholeChunks(): void {
    this.data.flushIfAtLeast(this.data.chunks[0]!);
    this.timestamps?.flushIfAtLeast(8192);
  }
}
