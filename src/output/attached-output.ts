/**
 * An NWB output that is one existing file someone else wrote (a user's recording, or the staged
 * copy of one that `attach` changes): our objects are added to it, nothing of it is ever removed.
 * - it never rotates: a table schema change is refused ({@link canRotate} false) before the sink
 *   changes anything (table-sink.ts);
 * - closing it never deletes it, whatever it holds ({@link unlinksEmptyFiles} false);
 * - while held ({@link holdOpen}), the bool column's close-and-reopen is refused.
 */
import { OutputError, OutputRefusedError } from "../errors.js";
import { errorText } from "../nwb/hdf5/h5wasm.js";
import { NwbFile } from "../nwb/nwb-file.js";
import type { NwbOutput, SegmentInfo } from "./output.js";

export class AttachedOutput implements NwbOutput {
  readonly canRotate = false;
  readonly unlinksEmptyFiles = false;
  private file: NwbFile | undefined;
  private readonly holds = new Set<string>();
  private readonly listeners: ((nwb: NwbFile) => void)[] = [];
  private closed = false;
  readonly segments: SegmentInfo[];

  /**
   * @param path the file to open (to append)
   * @param name how the file is named in messages (the recording, when `path` is its staged copy)
   */
  constructor(
    private readonly path: string,
    readonly basePath: string = path,
  ) {
    this.segments = [{ path: basePath, index: 0, rows: 0 }];
  }

  async current(): Promise<NwbFile> {
    if (this.closed) throw new OutputError(`${this.basePath} is closed`, this.basePath);
    if (!this.file) {
      try {
        this.file = await NwbFile.open(this.path);
      } catch (err) {
        throw new OutputError(`cannot open ${this.basePath} to add settings: ${errorText(err)}`, this.basePath, err);
      }
      this.file.reopenBlocker = () => [...this.holds].join("; ") || undefined;
      for (const l of this.listeners) l(this.file);
    }
    return this.file;
  }

  get open(): NwbFile | undefined {
    return this.file;
  }

  get ready(): NwbFile | undefined {
    return this.closed ? undefined : this.file;
  }

  onSegment(listener: (nwb: NwbFile) => void): void {
    this.listeners.push(listener);
  }

  countRows(n = 1): void {
    this.segments[0]!.rows += n;
  }

  get writtenSegments(): SegmentInfo[] {
    return this.segments.filter((s) => s.rows > 0);
  }

  async rotate(): Promise<NwbFile> {
    throw new OutputRefusedError(`${this.basePath}: settings are added to this file only; it may not continue in a new file`, this.basePath);
  }

  holdOpen(reason: string): () => void {
    this.holds.add(reason);
    return () => {
      this.holds.delete(reason);
    };
  }

  flush(): void {
    if (!this.file) return;
    try {
      this.file.flush();
    } catch (err) {
      throw new OutputError(`cannot write ${this.basePath}: ${errorText(err)}`, this.basePath, err);
    }
  }

  async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    this.closed = true;
    if (!f) return;
    try {
      f.close();
    } catch (err) {
      throw new OutputError(`cannot write ${this.basePath}: ${errorText(err)}`, this.basePath, err);
    }
  }
}
