/**
 * An NWB output that may span several files ("segments"): `<stem>.nwb`, then `<stem>_01.nwb`,
 * `<stem>_02.nwb`, … after each {@link SegmentedOutput.rotate}. Every segment gets the same session
 * metadata and the same NWB identifier (that is how a segment is recognised, see output-files.ts).
 * Writers re-create their objects in each new segment through {@link onSegment}. A segment that
 * received no rows is deleted on rotate/close, so no empty file is left behind.
 *
 * Two ways to write:
 * - live (record): each segment is created at its final path (readable while it grows); a path
 *   that already exists is never replaced;
 * - staged (convert, demo): each segment is written under a hidden temporary name beside its final
 *   path; {@link commit} renames them into place once all are complete and closed, and
 *   {@link abort} removes them. A failed or interrupted run leaves no partial file and the previous
 *   output untouched.
 */
import { randomUUID } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputError, OutputRefusedError } from "../errors.js";
import { errorText } from "../nwb/hdf5/h5wasm.js";
import type { NwbMetadata } from "../nwb/metadata.js";
import { type CreateOptions, NwbFile } from "../nwb/nwb-file.js";
import type { NwbOutput, SegmentInfo as OutputSegmentInfo } from "./output.js";
import { existingOutputFiles, pathExists, segmentPath } from "./segment-names.js";

export { segmentPath } from "./segment-names.js";
export { OutputError };

export interface SegmentInfo extends OutputSegmentInfo {
  /** Where the segment is being written (a temporary name when staged, else `path`, where it ends up). */
  file: string;
}

export interface SegmentedOutputOptions extends CreateOptions {
  /** Write under temporary names `.<final name>.<tag>.partial`; {@link SegmentedOutput.commit} moves them into place. */
  staged?: { tag: string };
}

/** The temporary name of a staged file: hidden, beside the final one, marked with the run's tag. */
export function stagedPath(finalPath: string, tag: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${tag}.partial`);
}

/** Whether a directory entry is a staged file of `tag` (for cleaning up after a killed writer). */
export function isStagedName(name: string, tag: string): boolean {
  return name.startsWith(".") && name.endsWith(`.${tag}.partial`);
}

export class SegmentedOutput implements NwbOutput {
  /** Files are ours: a schema change may start a new one, and one without rows is removed. */
  readonly canRotate: boolean = true;
  readonly unlinksEmptyFiles: boolean = true;
  private readonly holds = new Set<string>();
  private file: NwbFile | undefined;
  private index = -1;
  private rowsInSegment = 0;
  private readonly listeners: ((nwb: NwbFile) => void)[] = [];
  private readonly meta: NwbMetadata;
  readonly segments: SegmentInfo[] = [];

  constructor(
    readonly basePath: string,
    meta: NwbMetadata,
    private readonly options: SegmentedOutputOptions = {},
  ) {
    this.meta = { ...meta, identifier: meta.identifier ?? randomUUID() };
  }

  /** The NWB identifier every segment carries. */
  get identifier(): string {
    return this.meta.identifier!;
  }

  /** Start loading HDF5 before the first segment is needed (see {@link NwbFile.preload}). */
  static preload(): void {
    NwbFile.preload();
  }

  /** File transitions (open, rotate, close) run one at a time: concurrent writers never open a segment twice. */
  private transition: Promise<unknown> = Promise.resolve();
  private transitioning = 0;

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    this.transitioning++;
    const run = this.transition.then(fn, fn).finally(() => this.transitioning--);
    this.transition = run.catch(() => undefined);
    return run;
  }

  /** The open segment, created on first use. */
  async current(): Promise<NwbFile> {
    if (this.file && this.transitioning === 0) return this.file;
    return this.serialized(async () => {
      if (!this.file) await this.openNext();
      return this.file!;
    });
  }

  /** The open segment if one is open (no file is created). */
  get open(): NwbFile | undefined {
    return this.file;
  }

  get ready(): NwbFile | undefined {
    return this.transitioning === 0 ? this.file : undefined;
  }

  /** Called with every new segment (including the first) right after it is created. */
  onSegment(listener: (nwb: NwbFile) => void): void {
    this.listeners.push(listener);
  }

  /** Writers report rows they staged (negative: rows they removed), so empty segments can be removed. */
  countRows(n = 1): void {
    this.rowsInSegment += n;
    const last = this.segments[this.segments.length - 1];
    if (last) last.rows = this.rowsInSegment;
  }

  /** Close the current segment and open the next one. */
  async rotate(): Promise<NwbFile> {
    if (!this.canRotate) throw new OutputRefusedError(`${this.describeCurrent()}: this output may not start a new file`, this.describeCurrent());
    return this.serialized(async () => {
      await this.closeCurrent();
      await this.openNext();
      return this.file!;
    });
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
      throw new OutputError(`cannot write ${this.describeCurrent()}: ${errorText(err)}`, this.describeCurrent(), err);
    }
  }

  async close(): Promise<void> {
    await this.serialized(() => this.closeCurrent());
  }

  /** Segments that exist on disk (had rows). */
  get writtenSegments(): SegmentInfo[] {
    return this.segments.filter((s) => s.rows > 0);
  }

  /**
   * Staged output: close, then move every written segment to its final path. A final path may
   * already hold a file only when `replace` is set and that file is part of the previous output at
   * `basePath` (its first file, or a segment recognised by its identifier); anything else there
   * is refused and nothing is moved. Segments of the previous output that the new one does not
   * write are removed afterwards. Returns the final paths.
   */
  async commit(replace: boolean): Promise<string[]> {
    try {
      await this.closeCurrent();
      const written = this.writtenSegments;
      const previous = new Set(await existingOutputFiles(this.basePath));
      for (const s of written) {
        if (!(await pathExists(s.path))) continue;
        if (!previous.has(s.path))
          throw new OutputError(
            `${s.path} exists and is not part of the output ${this.basePath}; it was left alone and nothing was written (move it away or choose another --out)`,
            s.path,
          );
        if (!replace) throw new OutputError(`${s.path} already exists; use --overwrite to replace`, s.path);
      }
      for (const s of written) if (s.file !== s.path) await rename(s.file, s.path);
      const finals = written.map((s) => s.path);
      for (const old of previous) if (!finals.includes(old)) await unlink(old).catch(() => undefined);
      return finals;
    } catch (err) {
      await this.abort();
      throw err instanceof OutputError ? err : new OutputError(`cannot move the finished output into place: ${errorText(err)}`, this.basePath, err);
    }
  }

  /** Give up: close the open segment and remove every file this output wrote (staged) or created. */
  async abort(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    try {
      f?.close();
    } catch {
      // a failing file (disk full): it is removed below anyway
    }
    for (const s of this.segments) {
      if (s.file !== s.path || !this.options.staged) await unlink(s.file).catch(() => undefined);
    }
  }

  private describeCurrent(): string {
    const last = this.segments[this.segments.length - 1];
    return last ? last.path : this.basePath;
  }

  private async openNext(): Promise<void> {
    const index = this.index + 1;
    const path = segmentPath(this.basePath, index);
    const file = this.options.staged ? stagedPath(path, this.options.staged.tag) : path;
    // A live segment never replaces a file: the caller removed the previous output it may replace.
    if (!this.options.staged && (await pathExists(file))) {
      throw new OutputError(
        `cannot create ${file}: something else is already there, not part of this recording; it is left alone (move it away; the journal holds every event)`,
        file,
      );
    }
    try {
      this.file = await NwbFile.create(file, this.meta, { ...this.options, overwrite: false });
    } catch (err) {
      throw new OutputError(`cannot create ${path}: ${errorText(err)}`, path, err);
    }
    this.index = index;
    this.rowsInSegment = 0;
    this.segments.push({ path, file, index: this.index, rows: 0 });
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
      throw new OutputError(`cannot write ${this.describeCurrent()}: ${errorText(err)}`, this.describeCurrent(), err);
    }
    if (this.rowsInSegment === 0 && this.unlinksEmptyFiles) {
      // Nothing of it remains: its name is free for the next segment.
      await unlink(f.path).catch(() => undefined);
      this.segments.pop();
      this.index--;
    }
  }
}
