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
import type { NwbOutput, SegmentInfo } from "./output.js";
import { segmentPath } from "./segment-names.js";
import { OutputError, OutputRefusedError } from "../errors.js";

export { OutputError };
export type { SegmentInfo } from "./output.js";

export class SegmentedOutput implements NwbOutput {
  /** Files are ours: a schema change may start a new one, and one without rows is removed. */
  readonly canRotate: boolean = true;
  readonly unlinksEmptyFiles: boolean = true;
  private file: NwbFile | undefined;
  private readonly holds = new Set<string>();
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
    if (!this.canRotate) throw new OutputRefusedError(`${this.file?.path ?? this.basePath}: this output may not start a new file`, this.file?.path ?? this.basePath);
    await this.closeCurrent();
    return this.current();
  }

  holdOpen(reason: string): () => void {
    this.holds.add(reason);
    return () => {
      this.holds.delete(reason);
    };
  }

  /** Write staged rows and flush; a failure of the file is fatal for the output. */
  flush(): void {
    const f = this.file;
    if (!f) return;
    try {
      f.flush();
    } catch (err) {
      throw new OutputError(`cannot write ${f.path}: ${errorText(err)}`, f.path, err);
    }
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
      throw new OutputError(errorText(err), path, err);
    }
    this.index = index;
    this.rowsInSegment = 0;
    this.segments.push({ path, index: this.index, rows: 0 });
    this.file.reopenBlocker = () => [...this.holds].join("; ") || undefined;
    for (const l of this.listeners) l(this.file);
  }

  private async closeCurrent(): Promise<void> {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    try {
      f.close();
    } catch (err) {
      throw new OutputError(`cannot write ${f.path}: ${errorText(err)}`, f.path, err);
    }
    if (this.rowsInSegment === 0 && this.unlinksEmptyFiles) await unlink(f.path).catch(() => undefined);
  }
}
