/**
 * An ezmsg AxisArray message → a `SampleChunk` for the NWB stream writer (the only place that
 * knows both). Rules (docs/streams.md):
 * - time is the message's declared `stream_dim` (ezmsg 3.10), else the dim named "time", else the
 *   first dim; it is moved first if needed;
 * - a `LinearAxis` on it → regular (start = offset, rate = 1 / gain); a numeric 1-D
 *   `CoordinateAxis` → one timestamp per sample; no axis → rejected (no time, nothing to record);
 * - the next dim's `CoordinateAxis` of strings (one per channel) gives channel labels;
 * - units from `attrs["units"]` or `attrs["unit"]`, scale from `attrs["scale"]` (NWB conversion),
 *   as the reference's sink reads them. With labels and a voltage unit (or none: the reference
 *   assumes µV) the series is an ElectricalSeries in volts with conversion = unit factor × scale;
 *   with labels and another unit it is a plain TimeSeries in that unit.
 */
import type ndarray from "ndarray";
import { CoordinateAxis, LinearAxis, type AxisArray } from "../../ezmsg/axisarray.js";
import { NumpyArray } from "../../ezmsg/numpy.js";
import type { SampleType } from "../../nwb/hdf5/sample-dataset.js";
import type { SampleChunk } from "../../nwb/stream-writer.js";

export type TimeMap = (pipelineTime: number) => number;

const VOLT_FACTORS: Record<string, number> = { V: 1, volts: 1, volt: 1, mV: 1e-3, uV: 1e-6, µV: 1e-6, μV: 1e-6, microvolts: 1e-6, nV: 1e-9 };

function sampleType(a: NumpyArray): SampleType | null {
  const k = a.dtype.kindChar;
  const n = a.dtype.itemsize;
  if (k === "b") return "uint8";
  if (k === "f") return n === 4 ? "float32" : n === 8 ? "float64" : null;
  if (k === "i" || k === "u") return `${k === "i" ? "int" : "uint"}${n * 8}` as SampleType;
  return null;
}

/** The dim a message streams along: its declared stream_dim, else "time", else its first dim. */
export function streamDimOf(msg: AxisArray): string {
  if (msg.streamDim !== null) return msg.streamDim;
  return msg.dims.includes("time") ? "time" : (msg.dims[0] ?? "time");
}

/** A chunk, or the reason the message cannot be recorded. */
export function axisArrayToChunk(msg: AxisArray, toFileTime: TimeMap): SampleChunk | { skip: string } {
  const type = sampleType(msg.data);
  if (type === null) return { skip: `data of dtype ${msg.data.dtype.str} is not numeric samples` };
  if (msg.data.ndim === 0) return { skip: "0-d data has no time axis" };
  let timeIdx = msg.dims.indexOf(streamDimOf(msg));
  if (timeIdx < 0) timeIdx = 0;
  const timeDim = msg.dims[timeIdx]!;
  let data = msg.data;
  const dims = [...msg.dims];
  if (timeIdx !== 0) {
    const perm = [timeIdx, ...dims.map((_, i) => i).filter((i) => i !== timeIdx)];
    data = new NumpyArray(data.dtype, data.array.transpose(...perm) as ndarray.NdArray<never>);
    dims.splice(0, dims.length, ...perm.map((i) => msg.dims[i]!));
  }
  const rows = data.shape[0]!;
  const axis = msg.axes.get(timeDim);
  let time: SampleChunk["time"];
  if (axis instanceof LinearAxis) {
    time = { start: toFileTime(axis.offset), rate: 1 / axis.gain };
  } else if (axis instanceof CoordinateAxis && axis.data.ndim === 1 && axis.data.shape[0] === rows && ["f", "i", "u"].includes(axis.data.dtype.kindChar)) {
    const src = axis.data.cOrder() as ArrayLike<number | bigint>;
    const ts = new Float64Array(rows);
    for (let i = 0; i < rows; i++) ts[i] = toFileTime(Number(src[i]));
    time = { timestamps: ts };
  } else {
    return { skip: `the time dim ${JSON.stringify(timeDim)} has no LinearAxis or numeric CoordinateAxis` };
  }
  let labels: string[] | undefined;
  const chDim = dims[1];
  const chAxis = chDim === undefined ? undefined : msg.axes.get(chDim);
  if (chAxis instanceof CoordinateAxis && chAxis.data.ndim === 1 && chAxis.data.shape[0] === data.shape[1]) {
    const values = Array.from(chAxis.data.cOrder() as ArrayLike<unknown>);
    if (values.every((v) => typeof v === "string")) labels = values as string[];
  }
  const unitAttr = msg.attrs.get("units") ?? msg.attrs.get("unit");
  const unit = typeof unitAttr === "string" && unitAttr !== "" ? unitAttr : undefined;
  const scaleAttr = msg.attrs.get("scale");
  const scale = typeof scaleAttr === "number" && Number.isFinite(scaleAttr) ? scaleAttr : typeof scaleAttr === "bigint" ? Number(scaleAttr) : 1;
  return {
    type,
    bytes: data.cOrderBytes(),
    rows,
    sampleShape: data.shape.slice(1),
    time,
    ...seriesUnits(labels, unit, scale, 0),
  };
}

/**
 * The unit rule shared by every sample source (docs/streams.md): labeled channels in a voltage
 * unit, or with no unit (µV assumed, as the reference does), make an ElectricalSeries in volts
 * (conversion and offset scaled by the unit's factor); anything else is a TimeSeries in its own
 * unit ("a.u." if none) and keeps no labels.
 */
export function seriesUnits(
  labels: readonly string[] | undefined,
  unit: string | undefined,
  scale: number,
  offset: number,
): { channelLabels?: readonly string[]; unit: string; conversion: number; offset: number } {
  if (labels !== undefined) {
    const factor = unit === undefined ? 1e-6 : VOLT_FACTORS[unit];
    if (factor !== undefined) return { channelLabels: labels, unit: "volts", conversion: factor * scale, offset: factor * offset };
  }
  return { unit: unit ?? "a.u.", conversion: scale, offset };
}
