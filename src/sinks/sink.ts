/**
 * What a sink is: it takes events in order and writes them through the NWB layer. Timestamps reach
 * sinks already in file time (seconds from the file's timestamps_reference_time); sinks do not
 * know clocks. `close(closeTime)` ends the recording: a sink closes any open interval there.
 */
import type { PipelineSettingsEvent } from "../events/event.js";

export interface SettingsSink {
  /**
   * Throw if this sink would reject `event`, without changing any state. A set of sinks checks
   * every sink first, so an event is written by all of them or by none.
   */
  check(event: PipelineSettingsEvent): void;
  /**
   * Accept one event. Throws (or rejects) only for events this sink cannot write (state stays
   * consistent). Returns undefined when the event was taken synchronously (the common row, with
   * the file at hand: no promise per event), else a promise to await before the next event.
   */
  write(event: PipelineSettingsEvent): Promise<void> | undefined;
  /**
   * Make every accepted row durable in the file (readable by pynwb afterwards). `now` (file time,
   * seconds) is when the flush happens, if the caller has a clock: an open interval lasts until then.
   */
  flush(now?: number): void;
  /** Finish at `closeTime` (file time, seconds). */
  close(closeTime: number): Promise<void>;
  /**
   * A size split ({@link SinkSet.split}) is about to close the current segment at file time `t`:
   * end what is open there at `t`.
   */
  segmentEnding?(t: number): Promise<void>;
  /** The split opened a new segment at `t`: write the current settings state into it, so it stands alone. */
  segmentStarted?(t: number): Promise<void>;
  /**
   * Whether events are held back for merging (a run of INITIAL events, which ends at the sentinel
   * or the next other event). A live recorder calls {@link settle} when such a run has gone quiet.
   */
  readonly holding?: boolean;
  /** Write the held events now, as if their run had ended. */
  settle?(): Promise<void>;
}
