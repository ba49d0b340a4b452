/**
 * Reading data series back for a picture: the TimeSeries / ElectricalSeries of /acquisition (any
 * file, found by neurodata_type), and a decimated view of one — per channel, the min and max of
 * each of `buckets` equal time bins — read as a strided hyperslab so a two-hour recording costs a
 * few thousand samples per channel, not gigabytes. Values are in the series' unit (conversion and
 * offset applied).
 */
import { NwbError } from "../errors.js";
import type { NwbFileReader } from "./nwb-file.js";

export interface SeriesInfo {
  path: string;
  name: string;
  neurodataType: string;
  samples: number;
  channels: number;
  unit: string;
  /** Regular time, or undefined when the series has timestamps. */
  rate?: number;
  startingTime?: number;
  /** Time of the first and the last sample (s, file time); NaN without samples. */
  start: number;
  end: number;
}

/** Types of neural data we draw (AnnotationSeries and other text series are not data). */
const DATA_TYPES = ["TimeSeries", "ElectricalSeries"];

/** The numeric data series of /acquisition, in tree order. */
export function acquisitionSeries(nwb: NwbFileReader): SeriesInfo[] {
  const out: SeriesInfo[] = [];
  for (const o of nwb.findByType(...DATA_TYPES)) {
    if (o.kind !== "group" || !o.path.startsWith("acquisition/")) continue;
    const data = nwb.get(`${o.path}/data`);
    if (!data || !("shape" in data) || !Array.isArray(data.shape) || data.shape.length === 0) continue;
    const meta = (data as { metadata: { type: number } }).metadata;
    if (meta.type !== 0 && meta.type !== 1) continue; // integer or float only
    const shape = data.shape as number[];
    const rate = nwb.attr(`${o.path}/starting_time`, "rate");
    const info: SeriesInfo = {
      path: o.path,
      name: o.path.slice(o.path.lastIndexOf("/") + 1),
      neurodataType: o.neurodataType,
      samples: shape[0]!,
      channels: shape.slice(1).reduce((a, b) => a * b, 1),
      unit: String(nwb.attr(`${o.path}/data`, "unit") ?? ""),
      start: Number.NaN,
      end: Number.NaN,
    };
    if (typeof rate === "number") {
      info.rate = rate;
      info.startingTime = Number(nwb.dataset(`${o.path}/starting_time`).value);
      if (info.samples > 0) {
        info.start = info.startingTime;
        info.end = info.startingTime + (info.samples - 1) / rate;
      }
    } else {
      const ts = nwb.get(`${o.path}/timestamps`);
      if (!ts) continue;
      const n = Math.min(info.samples, nwb.dataset(`${o.path}/timestamps`).shape?.[0] ?? 0);
      if (n > 0) {
        info.start = Number((nwb.dataset(`${o.path}/timestamps`).slice([[0, 1]]) as ArrayLike<number>)[0]);
        info.end = Number((nwb.dataset(`${o.path}/timestamps`).slice([[n - 1, n]]) as ArrayLike<number>)[0]);
      }
    }
    out.push(info);
  }
  return out;
}

export interface Envelope {
  /** Start time of each bin (s, file time); bins are `binWidth` long. */
  t0: number;
  binWidth: number;
  /** Per channel drawn: min and max of each bin (NaN for a bin without samples). */
  min: Float64Array[];
  max: Float64Array[];
  /** Which channels (indices into the flattened sample) these are. */
  channels: number[];
}

/**
 * Min/max per bin of `[t0, t1]` for the first `maxChannels` channels, from at most about
 * `samplesPerBin × buckets` samples per channel (a strided read).
 */
export function readEnvelope(
  nwb: NwbFileReader,
  series: SeriesInfo,
  options: { t0: number; t1: number; buckets: number; maxChannels?: number; samplesPerBin?: number },
): Envelope {
  const { t0, t1, buckets } = options;
  const channels = Math.min(series.channels, options.maxChannels ?? 4);
  const n = series.samples;
  const binWidth = (t1 - t0) / buckets;
  const min = Array.from({ length: channels }, () => new Float64Array(buckets).fill(Number.NaN));
  const max = Array.from({ length: channels }, () => new Float64Array(buckets).fill(Number.NaN));
  const env: Envelope = { t0, binWidth, min, max, channels: Array.from({ length: channels }, (_, i) => i) };
  if (n === 0 || !(binWidth > 0)) return env;
  // The sample range inside [t0, t1] (regular time) or all samples (timestamps, read strided too).
  let first = 0;
  let last = n;
  if (series.rate !== undefined) {
    first = Math.max(0, Math.floor((t0 - series.startingTime!) * series.rate));
    last = Math.min(n, Math.ceil((t1 - series.startingTime!) * series.rate) + 1);
  }
  if (last <= first) return env;
  const step = Math.max(1, Math.floor((last - first) / (buckets * (options.samplesPerBin ?? 4))));
  const data = nwb.dataset(`${series.path}/data`);
  const shape = data.shape as number[];
  const ranges: [number, number, number][] = [[first, last, step]];
  // Channels: the first `channels` of the flattened sample (first dimension after time; more
  // dimensions are flattened by taking their first elements).
  if (shape.length > 1) ranges.push([0, channels, 1]);
  for (let d = 2; d < shape.length; d++) ranges.push([0, 1, 1]);
  let values: ArrayLike<number | bigint>;
  try {
    values = data.slice(ranges) as ArrayLike<number | bigint>;
  } catch (err) {
    throw new NwbError(`${nwb.path}: cannot read ${series.path}/data (${(err as Error).message})`, nwb.path);
  }
  const rows = Math.ceil((last - first) / step);
  const times = series.rate === undefined ? (nwb.dataset(`${series.path}/timestamps`).slice([[first, last, step]]) as ArrayLike<number>) : undefined;
  const conversion = Number(nwb.attr(`${series.path}/data`, "conversion") ?? 1);
  const offset = Number(nwb.attr(`${series.path}/data`, "offset") ?? 0);
  const stride = shape.length > 1 ? channels : 1;
  for (let r = 0; r < rows; r++) {
    const t = times ? Number(times[r]) : series.startingTime! + (first + r * step) / series.rate!;
    const b = Math.floor((t - t0) / binWidth);
    if (b < 0 || b >= buckets) continue;
    for (let c = 0; c < channels; c++) {
      const v = Number(values[r * stride + c]) * conversion + offset;
      if (Number.isNaN(v)) continue;
      const lo = min[c]!;
      const hi = max[c]!;
      if (Number.isNaN(lo[b]!) || v < lo[b]!) lo[b] = v;
      if (Number.isNaN(hi[b]!) || v > hi[b]!) hi[b] = v;
    }
  }
  return env;
}
