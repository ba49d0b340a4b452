/**
 * One sample stream → one or more TimeSeries in /acquisition, by a fixed rule. Knows NWB, not
 * where the samples come from.
 *
 * A chunk continues the stream's current series when all of these hold; otherwise the series is
 * closed for appends and the chunk starts a new one, named `<name>_2`, `<name>_3`, … (never
 * silently reshaped, retimed or cast):
 * - same sample type (dtype), same sample shape (channel count and any further axes), same
 *   channel labels, same unit, conversion and offset;
 * - regular time (`start` + `rate`): same rate (relative difference ≤ 1e-9) and the chunk's first
 *   sample within {@link CONTINUITY_TOLERANCE_S} (1 µs) of where the series' next sample falls
 *   (`starting_time + n / rate`): a gap, an overlap, a restart or a rate change starts a new series;
 * - explicit timestamps: timestamps do not go back (the first is ≥ the series' last).
 * A series that starts regular stays regular, one that starts with timestamps keeps them.
 */
import type { DeviceSpec } from "./electrodes.js";
import type { NwbFile } from "./nwb-file.js";
import type { SampleType } from "./hdf5/sample-dataset.js";
import { TimeSeriesWriter } from "./time-series.js";
import { NwbError } from "../errors.js";

/** Largest difference between a chunk's first sample time and the series' next that still continues it. */
export const CONTINUITY_TOLERANCE_S = 1e-6;

export interface SampleChunk {
  type: SampleType;
  /** C-order, little-endian bytes; time is axis 0. */
  bytes: Uint8Array;
  rows: number;
  /** Shape of one sample (`[channels]`, `[]`, …). */
  sampleShape: readonly number[];
  /** Regular: time of the first sample (s, file clock) and the rate; or one time per sample. */
  time: { start: number; rate: number } | { timestamps: Float64Array };
  /** One label per channel (axis 1): the series becomes an ElectricalSeries. */
  channelLabels?: readonly string[];
  unit: string;
  conversion: number;
  offset: number;
}

export interface StreamWriterOptions {
  /** Description of each series (NWB `description`). */
  description: string;
  /** Device an ElectricalSeries' electrodes belong to. */
  device: DeviceSpec;
  /**
   * Location of the electrodes (electrode group and table rows). Default "unknown". With a mouse
   * subject nwbinspector wants an Allen CCF term (e.g. "root" when only "in the brain" is known).
   */
  electrodeLocation?: string;
}

/** Why a chunk started a new series (reported to the caller for its log). */
export type NewSeriesReason = "first" | "type" | "shape" | "labels" | "unit" | "time kind" | "rate" | "gap" | "timestamps back";

/** `/`, spaces and anything else outside [A-Za-z0-9_.-] → `_`; never empty, never `.`/`..`. */
export function sanitizeSeriesName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  return s === "" || s === "." || s === ".." ? "stream" : s;
}

/** `name`, or `name_2`, `name_3`, … : the first that is free in /acquisition and not taken. */
export function uniqueSeriesName(nwb: NwbFile, name: string, taken: ReadonlySet<string> = new Set()): string {
  const free = (n: string): boolean => !taken.has(n) && !nwb.has(`acquisition/${n}`);
  if (free(name)) return name;
  for (let i = 2; ; i++) if (free(`${name}_${i}`)) return `${name}_${i}`;
}

export class StreamWriter {
  private current: { writer: TimeSeriesWriter; chunk: SampleChunk; lastTime: number } | null = null;
  /** Every series this stream wrote, in order. */
  readonly series: string[] = [];
  private samples = 0;

  constructor(
    private readonly nwb: NwbFile,
    /** The stream's name (sanitized here). */
    readonly name: string,
    private readonly options: StreamWriterOptions,
    private readonly taken: Set<string> = new Set(),
  ) {}

  /** Samples written by this stream (all series). */
  get sampleCount(): number {
    return this.samples;
  }

  /** Append a chunk; returns the reason when it started a new series, else null. */
  write(chunk: SampleChunk): NewSeriesReason | null {
    checkChunk(chunk, this.name);
    if (chunk.rows === 0) return null;
    const reason = this.current === null ? "first" : this.breaks(chunk);
    if (reason !== null) this.startSeries(chunk);
    const cur = this.current!;
    if ("timestamps" in chunk.time) {
      cur.writer.append(chunk.bytes, chunk.rows, chunk.time.timestamps);
      cur.lastTime = chunk.time.timestamps[chunk.rows - 1]!;
    } else {
      cur.writer.append(chunk.bytes, chunk.rows);
    }
    this.samples += chunk.rows;
    cur.writer.flushWholeChunks();
    return reason;
  }

  private breaks(chunk: SampleChunk): NewSeriesReason | null {
    const { writer, chunk: first, lastTime } = this.current!;
    if (chunk.type !== first.type) return "type";
    if (!sameList(chunk.sampleShape, first.sampleShape)) return "shape";
    if (!sameList(chunk.channelLabels ?? [], first.channelLabels ?? [])) return "labels";
    if (chunk.unit !== first.unit || !sameNumber(chunk.conversion, first.conversion) || !sameNumber(chunk.offset, first.offset)) return "unit";
    const regular = writer.regularTime;
    if ("timestamps" in chunk.time) {
      if (regular !== null) return "time kind";
      return chunk.time.timestamps[0]! < lastTime ? "timestamps back" : null;
    }
    if (regular === null) return "time kind";
    if (Math.abs(chunk.time.rate - regular.rate) > 1e-9 * regular.rate) return "rate";
    const expected = writer.timeOf(writer.length);
    return Math.abs(chunk.time.start - expected) > CONTINUITY_TOLERANCE_S ? "gap" : null;
  }

  private startSeries(chunk: SampleChunk): void {
    this.current?.writer.flush();
    const name = uniqueSeriesName(this.nwb, sanitizeSeriesName(this.name), this.taken);
    this.taken.add(name);
    const labels = chunk.channelLabels;
    const writer = TimeSeriesWriter.create(this.nwb, {
      name,
      description: this.options.description,
      type: chunk.type,
      sampleShape: chunk.sampleShape,
      unit: chunk.unit,
      conversion: chunk.conversion,
      offset: chunk.offset,
      ...("timestamps" in chunk.time ? {} : { regular: { startingTime: chunk.time.start, rate: chunk.time.rate } }),
      ...(labels !== undefined && chunk.sampleShape.length >= 1
        ? { electrodes: { device: this.options.device, labels, ...(this.options.electrodeLocation ? { location: this.options.electrodeLocation } : {}) } }
        : {}),
    });
    this.series.push(name);
    this.current = { writer, chunk, lastTime: -Infinity };
  }

  /** Write everything staged (the file's flush does this too). */
  flush(): void {
    this.current?.writer.flush();
  }
}

function checkChunk(c: SampleChunk, name: string): void {
  const rowElems = c.sampleShape.reduce((a, b) => a * b, 1);
  const bytesPer = { int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8 }[c.type];
  if (c.bytes.byteLength !== c.rows * rowElems * bytesPer) {
    throw new NwbError(
      `stream ${name}: ${c.rows} sample(s) of shape [${c.sampleShape.join(", ")}] ${c.type} need ${c.rows * rowElems * bytesPer} bytes, got ${c.bytes.byteLength}`,
    );
  }
  if ("timestamps" in c.time) {
    const t = c.time.timestamps;
    if (t.length !== c.rows) throw new NwbError(`stream ${name}: ${c.rows} sample(s) with ${t.length} timestamps`);
    for (let i = 0; i < t.length; i++) {
      if (!Number.isFinite(t[i]!) || (i > 0 && t[i]! < t[i - 1]!)) throw new NwbError(`stream ${name}: timestamps must be finite and ascending (index ${i})`);
    }
  } else if (!(c.time.rate > 0) || !Number.isFinite(c.time.rate) || !Number.isFinite(c.time.start)) {
    throw new NwbError(`stream ${name}: rate ${c.time.rate} and start ${c.time.start} must be finite, rate > 0`);
  }
  if (c.channelLabels !== undefined && c.channelLabels.length !== (c.sampleShape[0] ?? 1)) {
    throw new NwbError(`stream ${name}: ${c.channelLabels.length} channel labels for ${c.sampleShape[0] ?? 1} channel(s)`);
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
