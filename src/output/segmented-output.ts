/**
 * An NWB output that may span several files ("segments"): `<stem>.nwb`, then `<stem>_01.nwb`,
 * `<stem>_02.nwb`, … after each {@link SegmentedOutput.rotate}. Every segment gets the same session
 * metadata. Writers re-create their objects in each new segment through {@link onSegment}. A
 * segment that received no rows is deleted on rotate/close, so no empty file is left behind.
 */
import { unlink } from "node:fs/promises";
import { errorText } from "../nwb/hdf5/h5wasm.js";
import type { NwbMetadata } from "../nwb/metadata.js";
import { type CreateOptions, NwbFile } from "../nwb/nwb-file.js";
import { segmentPath } from "./segment-names.js";


/** The output file itself failed (cannot create, disk full, …): fatal for the whole output. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

export interface SegmentInfo {
  path: string;
  index: number;
  /** Rows written into this segment (as reported by writers via {@link SegmentedOutput.countRows}). */
  rows: number;
}

export class SegmentedOutput {
  private file: NwbFile | undefined;
  private index = -1;
  private rowsInSegment = 0;
  private readonly listeners: ((nwb: NwbFile) => void)[] = [];
  readonly segments: SegmentInfo[] = [];

  constructor(
    readonly basePath: string,
    private readonly meta: NwbMetadata,
    private readonly options: CreateOptions = {},
  ) {}

  /** Start loading HDF5 before the first segment is needed (see {@link NwbFile.preload}). */
  static preload(): void {
    NwbFile.preload();
  }

  /** The open segment, created on first use. */
  async current(): Promise<NwbFile> {
    if (!this.file) await this.openNext();
    return this.file!;
  }

  /** The open segment if one is open (no file is created). */
  get open(): NwbFile | undefined {
    return this.file;
  }

  /** Called with every new segment (including the first) right after it is created. */
  onSegment(listener: (nwb: NwbFile) => void): void {
    this.listeners.push(listener);
  }

  /** Writers report rows they staged, so empty segments can be removed. */
  countRows(n = 1): void {
    this.rowsInSegment += n;
    const last = this.segments[this.segments.length - 1];
    if (last) last.rows = this.rowsInSegment;
  }

  /** Close the current segment and open the next one. */
  async rotate(): Promise<NwbFile> {
    await this.closeCurrent();
    return this.current();
  }

  flush(): void {
    this.file?.flush();
  }

  async close(): Promise<void> {
    await this.closeCurrent();
  }

  /** Segments that exist on disk (had rows). */
  get writtenSegments(): SegmentInfo[] {
    return this.segments.filter((s) => s.rows > 0);
  }

  private async openNext(): Promise<void> {
    const index = this.index + 1;
    const path = segmentPath(this.basePath, index);
    try {
      this.file = await NwbFile.create(path, this.meta, this.options);
    } catch (err) {
      throw new OutputError(errorText(err));
    }
    this.index = index;
    this.rowsInSegment = 0;
    this.segments.push({ path, index: this.index, rows: 0 });
    for (const l of this.listeners) l(this.file);
  }

  private async closeCurrent(): Promise<void> {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    f.close();
    if (this.rowsInSegment === 0) await unlink(f.path).catch(() => undefined);
  }
}
