/**
 * What sinks and stream writers write into: one NWB output, which may be several files over time.
 * Today's implementation is {@link SegmentedOutput} (files we create: `<stem>.nwb`, `<stem>_01.nwb`,
 * …). An output attached to a user's existing file (opened to append) is another implementation;
 * the capabilities below are where the two differ, so writers ask instead of assuming:
 *
 * - {@link NwbOutput.canRotate}: may a schema change start a new file? Not for an attached file,
 *   and not while a data series would be split across files.
 * - {@link NwbOutput.unlinksEmptyFiles}: may closing a file with no rows of ours delete it? Only a
 *   file this output created; never a user's recording.
 * - {@link NwbOutput.holdOpen}: while held (a data stream is open), the file may not be closed and
 *   reopened in the middle of writing (the bool column's datatype rewrite needs that).
 *
 * Failures of the file itself are {@link OutputError}s (code ERR_OUTPUT_FAILED, with the file):
 * fatal for the run. A refused capability is an OutputRefusedError (ERR_OUTPUT_REFUSED).
 */
import type { NwbFile } from "../nwb/nwb-file.js";

export interface SegmentInfo {
  path: string;
  index: number;
  /** Rows written into this file (as reported by writers via {@link NwbOutput.countRows}). */
  rows: number;
}

export interface NwbOutput {
  /** The output's (first) file. */
  readonly basePath: string;
  /** The open file, created or opened on first use. */
  current(): Promise<NwbFile>;
  /** The open file if one is open (nothing is created). */
  readonly open: NwbFile | undefined;
  /**
   * What {@link current} would return without waiting: the open file when no file is being opened
   * or replaced, else undefined (then call {@link current}). Lets a writer skip a promise per row.
   */
  readonly ready: NwbFile | undefined;
  /** Called with every file (including the first) right after it is opened; writers create their objects there. */
  onSegment(listener: (nwb: NwbFile) => void): void;
  /** Writers report rows they staged (so empty files of ours can be removed). */
  countRows(n?: number): void;
  /** Every file opened so far, in order, with its row count. */
  readonly segments: readonly SegmentInfo[];
  /** Files that hold rows of ours. */
  readonly writtenSegments: SegmentInfo[];
  /** Whether {@link rotate} may start a new file. */
  readonly canRotate: boolean;
  /** Close the current file and start the next; refused (OutputRefusedError) when {@link canRotate} is false. */
  rotate(): Promise<NwbFile>;
  /** Whether closing a file with no rows of ours deletes it (only files this output created). */
  readonly unlinksEmptyFiles: boolean;
  /** Refuse closing and reopening the file until the returned release is called (e.g. while a data stream is open). */
  holdOpen(reason: string): () => void;
  /** Write staged rows and flush the file; a failure is an OutputError (fatal). */
  flush(): void;
  close(): Promise<void>;
}
