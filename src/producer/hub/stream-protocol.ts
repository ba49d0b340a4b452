/**
 * Sample streams on the hub (docs/protocol.md, "Sample streams"): a publisher declares a stream
 * with one JSON request, then sends its samples as binary WebSocket messages; the hub relays both
 * to the readers that subscribed to streams. This module holds the declaration's validation and
 * the binary frame layout (both directions use the same layout). No I/O here.
 *
 * Binary frame, little-endian:
 *
 * | bytes | field |
 * |---|---|
 * | 0–3 | uint32 stream handle (from `stream_declared`) |
 * | 4–7 | uint32 n, samples (time points) in this frame, ≥ 1 |
 * | 8–15 | float64 time of the first sample (s, the stream's clock); NaN: right after the previous frame (rate streams) |
 * | 16… | timestamp streams only: n × float64, one time per sample |
 * | then | n × channels samples of the declared dtype, time first (sample 0's channels, then sample 1's …) |
 */
import { type JsonObject, type JsonValue, describeJsonValue } from "../../events/json.js";

export const STREAM_DTYPES = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
} as const;
export type StreamDtype = keyof typeof STREAM_DTYPES;

/** Most channels a stream may declare. */
export const MAX_STREAM_CHANNELS = 65_536;
/** Longest stream name. */
export const MAX_STREAM_NAME = 256;
/** Bytes of the fixed frame header. */
export const FRAME_HEADER_BYTES = 16;

/** A stream as declared (validated). */
export interface StreamDeclaration {
  name: string;
  dtype: StreamDtype;
  channels: number;
  /** One label per channel, when given. */
  labels: string[] | null;
  /** Samples per second; null: every frame carries one timestamp per sample. */
  rate: number | null;
  unit: string | null;
  /** Multiply a sample by this (then add `offset`) to get `unit` (NWB conversion). */
  scale: number;
  offset: number;
  description: string | null;
}

function num(v: JsonValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint" && v >= -(2n ** 53n) && v <= 2n ** 53n) return Number(v);
  return undefined;
}

/** Validate a `declare_stream` request's fields; throws an Error whose message names the field. */
export function parseStreamDeclaration(o: JsonObject): StreamDeclaration {
  const name = o.get("stream");
  if (typeof name !== "string" || name === "" || name.length > MAX_STREAM_NAME)
    throw new Error(`"stream" must be a non-empty name of at most ${MAX_STREAM_NAME} characters, got ${describeJsonValue(name)}`);
  const dtype = o.get("dtype");
  if (typeof dtype !== "string" || !(dtype in STREAM_DTYPES))
    throw new Error(`"dtype" must be one of ${Object.keys(STREAM_DTYPES).join(", ")}, got ${describeJsonValue(dtype)}`);
  const ch = o.get("channels");
  let channels: number;
  let labels: string[] | null = null;
  if (Array.isArray(ch)) {
    if (ch.length === 0 || ch.length > MAX_STREAM_CHANNELS || !ch.every((x): x is string => typeof x === "string"))
      throw new Error(`"channels" must be a channel count or a list of 1 to ${MAX_STREAM_CHANNELS} label strings`);
    labels = ch;
    channels = ch.length;
  } else {
    const n = num(ch);
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_STREAM_CHANNELS)
      throw new Error(`"channels" must be a channel count (1 to ${MAX_STREAM_CHANNELS}) or a list of labels, got ${describeJsonValue(ch)}`);
    channels = n;
  }
  const rawRate = o.get("rate");
  let rate: number | null = null;
  if (rawRate !== undefined && rawRate !== null) {
    const r = num(rawRate);
    if (r === undefined || !Number.isFinite(r) || r <= 0)
      throw new Error(`"rate" must be a positive number of samples per second or null, got ${describeJsonValue(rawRate)}`);
    rate = r;
  }
  const unit = o.get("unit");
  if (unit !== undefined && unit !== null && (typeof unit !== "string" || unit === ""))
    throw new Error(`"unit" must be a non-empty string, got ${describeJsonValue(unit)}`);
  const finite = (field: string, dflt: number): number => {
    const v = o.get(field);
    if (v === undefined || v === null) return dflt;
    const n = num(v);
    if (n === undefined || !Number.isFinite(n)) throw new Error(`"${field}" must be a finite number, got ${describeJsonValue(v)}`);
    return n;
  };
  const scale = finite("scale", 1);
  const offset = finite("offset", 0);
  const description = o.get("description");
  if (description !== undefined && description !== null && typeof description !== "string")
    throw new Error(`"description" must be a string, got ${describeJsonValue(description)}`);
  return {
    name,
    dtype: dtype as StreamDtype,
    channels,
    labels,
    rate,
    unit: typeof unit === "string" ? unit : null,
    scale,
    offset,
    description: typeof description === "string" ? description : null,
  };
}

/** The declaration as the hub relays it to readers (normalized: channels a count, labels apart). */
export function declarationToJson(d: StreamDeclaration): JsonObject {
  return new Map<string, JsonValue>([
    ["stream", d.name],
    ["dtype", d.dtype],
    ["channels", BigInt(d.channels)],
    ["labels", d.labels],
    ["rate", d.rate],
    ["unit", d.unit],
    ["scale", d.scale],
    ["offset", d.offset],
    ["description", d.description],
  ]);
}

/** Read back what {@link declarationToJson} wrote (a reader's side). */
export function declarationFromJson(v: JsonValue | undefined): StreamDeclaration {
  if (!(v instanceof Map)) throw new Error(`a stream declaration must be an object, got ${describeJsonValue(v)}`);
  const o = new Map(v);
  const labels = o.get("labels");
  if (Array.isArray(labels)) o.set("channels", labels);
  o.delete("labels");
  return parseStreamDeclaration(o);
}

/** A frame's fields; `samples` and `timestamps` are views into the message (not copied). */
export interface StreamFrame {
  handle: number;
  rows: number;
  /** Time of the first sample; NaN for "right after the previous frame". */
  t0: number;
  timestamps: Float64Array | null;
  samples: Uint8Array;
}

/** Handle of a binary frame (or null if it is too short to have one). */
export function frameHandle(buf: Uint8Array): number | null {
  return buf.byteLength < FRAME_HEADER_BYTES ? null : new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
}

/** Split and check a frame against its stream's declaration; throws an Error saying what is wrong. */
export function parseFrame(buf: Uint8Array, decl: StreamDeclaration): StreamFrame {
  if (buf.byteLength < FRAME_HEADER_BYTES) throw new Error(`a sample frame needs a ${FRAME_HEADER_BYTES}-byte header, got ${buf.byteLength} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const handle = view.getUint32(0, true);
  const rows = view.getUint32(4, true);
  const t0 = view.getFloat64(8, true);
  if (rows < 1) throw new Error(`frame of stream ${JSON.stringify(decl.name)} holds no samples`);
  const tsBytes = decl.rate === null ? rows * 8 : 0;
  const sampleBytes = rows * decl.channels * STREAM_DTYPES[decl.dtype];
  const want = FRAME_HEADER_BYTES + tsBytes + sampleBytes;
  if (buf.byteLength !== want) {
    throw new Error(
      `frame of stream ${JSON.stringify(decl.name)}: ${rows} sample(s) × ${decl.channels} channel(s) of ${decl.dtype}${tsBytes ? " with timestamps" : ""} need ${want} bytes, got ${buf.byteLength}`,
    );
  }
  if (decl.rate !== null && !Number.isNaN(t0) && !Number.isFinite(t0))
    throw new Error(`frame of stream ${JSON.stringify(decl.name)}: first-sample time ${t0} is not finite`);
  let timestamps: Float64Array | null = null;
  if (tsBytes > 0) {
    timestamps = new Float64Array(rows);
    for (let i = 0; i < rows; i++) timestamps[i] = view.getFloat64(FRAME_HEADER_BYTES + 8 * i, true);
    for (let i = 0; i < rows; i++) {
      if (!Number.isFinite(timestamps[i]!) || (i > 0 && timestamps[i]! < timestamps[i - 1]!))
        throw new Error(`frame of stream ${JSON.stringify(decl.name)}: timestamps must be finite and ascending (index ${i})`);
    }
  }
  return { handle, rows, t0, timestamps, samples: buf.subarray(FRAME_HEADER_BYTES + tsBytes) };
}

/** Build a frame (publishers). `samples` are the raw little-endian bytes, time first. */
export function encodeFrame(handle: number, rows: number, samples: Uint8Array, time: { t0?: number; timestamps?: ArrayLike<number> } = {}): Buffer {
  const tsBytes = time.timestamps ? rows * 8 : 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + tsBytes + samples.byteLength);
  out.writeUInt32LE(handle, 0);
  out.writeUInt32LE(rows, 4);
  out.writeDoubleLE(time.t0 ?? (time.timestamps && rows > 0 ? time.timestamps[0]! : Number.NaN), 8);
  if (time.timestamps) for (let i = 0; i < rows; i++) out.writeDoubleLE(time.timestamps[i]!, FRAME_HEADER_BYTES + 8 * i);
  out.set(samples, FRAME_HEADER_BYTES + tsBytes);
  return out;
}
