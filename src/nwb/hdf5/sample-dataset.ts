/**
 * A chunked HDF5 dataset of samples in their native numeric type, growing along axis 0 (time).
 * Appends are staged as raw bytes and written with one resize + one write per flush, in place.
 */
import type { NwbFile } from "../nwb-file.js";
import { errorText } from "./h5wasm.js";
import { withHeapBytes } from "./heap.js";
import { NwbError } from "../../errors.js";

export type SampleType = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float32" | "float64";

export const SAMPLE_TYPES: Record<SampleType, { h5: string; bytes: number }> = {
  int8: { h5: "<b", bytes: 1 },
  uint8: { h5: "<B", bytes: 1 },
  int16: { h5: "<h", bytes: 2 },
  uint16: { h5: "<H", bytes: 2 },
  int32: { h5: "<i", bytes: 4 },
  uint32: { h5: "<I", bytes: 4 },
  int64: { h5: "<q", bytes: 8 },
  uint64: { h5: "<Q", bytes: 8 },
  float32: { h5: "<f", bytes: 4 },
  float64: { h5: "<d", bytes: 8 },
};

/** Target size of one chunk. See {@link chooseChunks}. */
export const CHUNK_TARGET_BYTES = 512 * 1024;
/** Most channels in one chunk. See {@link chooseChunks}. */
export const CHUNK_MAX_CHANNELS = 64;

/**
 * Chunk shape for time-first sample data `[time, ...rowShape]`.
 *
 * - Channels (axis 1) are split into blocks of at most 64, so reading a time window of a few
 *   channels touches 1/4 (256 ch) … 1/16 (1024 ch) of the bytes a full-width chunk would.
 * - Time rows fill the chunk up to ~512 KiB (a power of two, 256 to 65536 rows): big enough that
 *   a write covers whole chunks (one HDF5 chunk I/O per 512 KiB, the write speed lever), small
 *   enough that a one-second window of a 30 kHz × 256 ch float32 stream reads ~30 chunks of one
 *   channel block (7.5 MB), not the whole 30 MB second, and that the chunks being filled fit
 *   in HDF5's 1 MiB chunk cache … a few at a time.
 * - Axes beyond the channel axis stay whole.
 */
export function chooseChunks(rowShape: readonly number[], itemBytes: number): number[] {
  const rest = rowShape.map((d, i) => Math.max(1, i === 0 ? Math.min(d, CHUNK_MAX_CHANNELS) : d));
  const rowBytes = rest.reduce((a, b) => a * b, 1) * itemBytes;
  let rows = 256;
  while (rows < 65536 && rows * 2 * rowBytes <= CHUNK_TARGET_BYTES) rows *= 2;
  return [rows, ...rest];
}

export class SampleDataset {
  private pending: Uint8Array[] = [];
  private pendingRows = 0;
  private written = 0;
  readonly rowBytes: number;
  readonly chunks: number[];

  private constructor(
    private readonly nwb: NwbFile,
    readonly path: string,
    readonly type: SampleType,
    readonly rowShape: readonly number[],
    chunks: number[],
  ) {
    this.rowBytes = rowShape.reduce((a, b) => a * b, 1) * SAMPLE_TYPES[type].bytes;
    this.chunks = chunks;
  }

  /** Create an empty dataset at `path` (parent group must exist). */
  static create(
    nwb: NwbFile,
    path: string,
    type: SampleType,
    rowShape: readonly number[],
    chunks = chooseChunks(rowShape, SAMPLE_TYPES[type].bytes),
  ): SampleDataset {
    const slash = path.lastIndexOf("/");
    const parent = nwb.group(path.slice(0, slash));
    try {
      parent.create_dataset({
        name: path.slice(slash + 1),
        data: new Uint8Array(0),
        shape: [0, ...rowShape],
        maxshape: [null, ...rowShape],
        chunks,
        dtype: SAMPLE_TYPES[type].h5,
      });
    } catch (err) {
      throw new NwbError(`cannot create dataset ${path}: ${errorText(err)}`);
    }
    return new SampleDataset(nwb, path, type, rowShape, chunks);
  }

  /** Rows once staged rows are written. */
  get length(): number {
    return this.written + this.pendingRows;
  }
  get writtenLength(): number {
    return this.written;
  }
  get pendingLength(): number {
    return this.pendingRows;
  }

  /**
   * Stage `rows` rows given as little-endian bytes (`rows × rowBytes`). The bytes are kept, not
   * copied: the caller must not change them afterwards.
   */
  append(bytes: Uint8Array, rows: number): void {
    if (bytes.byteLength !== rows * this.rowBytes) {
      throw new NwbError(`${this.path}: ${rows} row(s) need ${rows * this.rowBytes} bytes, got ${bytes.byteLength}`);
    }
    if (rows === 0) return;
    this.pending.push(bytes);
    this.pendingRows += rows;
  }

  /** Write staged rows if at least `minRows` are staged (whole chunks, typically). */
  flushIfAtLeast(minRows: number): void {
    if (this.pendingRows >= minRows) this.flush();
  }

  /** Write every staged row: one resize, one write. */
  flush(): void {
    if (this.pendingRows === 0) return;
    const n = this.pendingRows;
    let bytes: Uint8Array;
    if (this.pending.length === 1) bytes = this.pending[0]!;
    else {
      bytes = new Uint8Array(n * this.rowBytes);
      let at = 0;
      for (const p of this.pending) {
        bytes.set(p, at);
        at += p.byteLength;
      }
    }
    const module = this.nwb.module;
    const fileId = this.nwb.file.file_id;
    const start = this.written;
    try {
      module.resize_dataset(fileId, this.path, [BigInt(start + n), ...this.rowShape.map(BigInt)]);
      const count = [BigInt(n), ...this.rowShape.map(BigInt)];
      const offset = [BigInt(start), ...this.rowShape.map(() => 0n)];
      const strides = count.map(() => 1n);
      withHeapBytes(module, bytes, (ptr) => module.set_dataset_data(fileId, this.path, count, offset, strides, BigInt(ptr)));
    } catch (err) {
      throw new NwbError(`cannot append ${n} row(s) to ${this.path}: ${errorText(err)}`);
    }
    this.written = start + n;
    this.pending = [];
    this.pendingRows = 0;
  }
}
