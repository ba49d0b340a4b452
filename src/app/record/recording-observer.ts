/**
 * What a live recording tells an onlooker (the monitor page, `record --monitor`), and nothing
 * more: accepted events, when they became durable, and a status it can poll. An observer only
 * watches; it cannot reach the journal, the sinks or the output, and a failing observer never
 * disturbs the recording (its exceptions are swallowed).
 *
 * All times are file times: seconds since the recording's `timestamps_reference_time`.
 */
import type { PipelineSettingsEvent } from "../../events/event.js";

/** Where a batch of events became durable. */
export type DurableWhere =
  /** fdatasync of the journal: survives a crash of this process, of the OS, or a power loss. */
  | "journal"
  /** the HDF5 flush of the NWB file: the rows are in the file (readable by pynwb) as it stands. */
  | "file";

/**
 * One step of durability: `events` live changes (UPDATED events; a startup INITIAL carries the
 * time of an old change, so it is not a latency) reached `where`. Latency = the time the step
 * completed − the event's own time stamp (the source's time of the change).
 */
export interface DurabilityReport {
  where: DurableWhere;
  /** File time at which the step completed. */
  at: number;
  events: number;
  /** Latency of the oldest / newest event of the batch, seconds. */
  oldestSeconds: number;
  newestSeconds: number;
}

export interface RecordingObserver {
  /** Once, when observing starts: the latest accepted event of every component so far. */
  current?(latest: readonly PipelineSettingsEvent[]): void;
  /** An event in the journal and in every sink (the `__init_final__` sentinel included). */
  accepted?(event: PipelineSettingsEvent): void;
  /** An event no sink could hold (it stays in the journal); the recording goes on. */
  rejected?(event: PipelineSettingsEvent, reason: string): void;
  durable?(report: DurabilityReport): void;
}

export interface SegmentStatus {
  path: string;
  /** 0 for the base file, then 1, 2, … */
  index: number;
  rows: number;
  /** Size on disk (0 before the file exists). */
  bytes: number;
}

export interface StreamStatus {
  topic: string;
  /** Sampling rate, Hz, or null for irregular time. */
  rate: number | null;
  frames: number;
  samples: number;
  /** Sample bytes received so far. */
  bytes: number;
  dropped: number;
  /** Held between receiving and writing. */
  queuedBytes: number;
  queuedSeconds: number;
  /** The buffer's size (shared by all streams). */
  bufferBytes: number;
  /** The NWB series written so far. */
  series: readonly string[];
}

export interface RecordingStatus {
  state: "starting" | "recording" | "stopping" | "stopped";
  /** The output file given on the command line. */
  out: string;
  source: string;
  /** Current file time (seconds). */
  fileTime: number;
  /** Wall-clock time of file time 0 (ISO 8601), once the file's clock is set. */
  referenceTime: string | null;
  events: number;
  rejected: number;
  /** Received from the source but not yet written. */
  backlog: { events: number; bytes: number };
  segments: SegmentStatus[];
  streams: StreamStatus[];
}

/** A recording that can be watched: the only view of it the monitor gets. */
export interface ObservableRecording {
  /** Start watching; returns the function that stops it. */
  observe(observer: RecordingObserver): () => void;
  status(): Promise<RecordingStatus>;
}
