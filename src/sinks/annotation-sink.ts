/**
 * The JSON-row sink: one `AnnotationSeries` per event `table_name` in /acquisition, one text row
 * per event (`{component, event_type, seq, settings}`), nothing for the `__init_final__` sentinel.
 *
 * Ascending time without losing information (nwbinspector requires ascending timestamps, while
 * INITIAL events carry each component's *last-change* time and so arrive out of time order):
 * - a run of INITIAL events is held until it ends (the sentinel, any other event, a split, close,
 *   or {@link AnnotationSink.settle} when a live run went quiet) and is then written sorted by
 *   (timestamp, seq), so each row keeps its true last-change time;
 * - every row's stored time is max(its own time, the series' previous stored time); when that
 *   moves a row later, its JSON gains a `"timestamp"` key with the event's own time.
 * Rows are staged and written in place on flush (docs/annotation-sink.md).
 */
import { type PipelineSettingsEvent, annotationRowText, isSentinel } from "../events/event.js";
import { AnnotationSeries } from "../nwb/annotation-series.js";
import type { NwbFile } from "../nwb/nwb-file.js";
import { objectNameProblem } from "../nwb/hdf5/text-rules.js";
import type { NwbOutput } from "../output/output.js";
import type { SettingsSink } from "./sink.js";

export const ANNOTATION_DESCRIPTION =
  'Pipeline settings changes recorded by nwb-settings: one JSON row per event, {"component", "event_type", "seq", "settings"}';

interface SeriesState {
  series: AnnotationSeries | undefined;
  lastTime: number;
}

export class AnnotationSink implements SettingsSink {
  private readonly byTable = new Map<string, SeriesState>();
  private initialRun: PipelineSettingsEvent[] = [];
  private rows = 0;
  /** The latest event per (series, component): the current settings state, for a size split. */
  private readonly latest = new Map<string, Map<string, PipelineSettingsEvent>>(); // series → component → event

  private readonly notBefore: number;

  /** `notBefore`: no row is stored earlier (an earlier event is stored at it, its own time in `"timestamp"`). */
  constructor(
    private readonly output: NwbOutput,
    options: { notBefore?: number } = {},
  ) {
    this.notBefore = options.notBefore ?? Number.NEGATIVE_INFINITY;
    output.onSegment(() => {
      // A new segment: series are created again on their next row; time order carries on.
      for (const s of this.byTable.values()) s.series = undefined;
    });
  }

  /** Rows written (staged or flushed) so far, across segments. */
  get rowCount(): number {
    return this.rows;
  }

  check(event: PipelineSettingsEvent): void {
    if (!isSentinel(event)) checkSeriesName(event.table_name);
  }

  write(event: PipelineSettingsEvent): Promise<void> | undefined {
    if (isSentinel(event)) return this.drainInitialRun();
    if (event.event_type === "INITIAL") {
      this.initialRun.push(event);
      return undefined;
    }
    if (this.initialRun.length > 0) return this.drainInitialRun().then(() => this.writeRow(event));
    // The common row: the file is at hand, so no promise (a few microtask turns per row).
    const nwb = this.output.ready;
    if (nwb === undefined) return this.writeRow(event);
    this.writeRowTo(nwb, event);
    return undefined;
  }

  flush(): void {
    this.output.flush();
  }

  /**
   * A size split is about to close the segment: a held run of INITIAL events (components that
   * joined after the start) is written into it first, so the segment ending holds every event that
   * arrived while it was open.
   */
  async segmentEnding(_t: number): Promise<void> {
    await this.drainInitialRun();
  }

  /**
   * A size split opened a new segment: it starts with the current state, i.e. each component's
   * latest event again (its own time and seq, in time order), so the segment stands alone.
   */
  async segmentStarted(_t: number): Promise<void> {
    await this.drainInitialRun();
    const carry = [...this.latest.values()].flatMap((byComponent) => [...byComponent.values()]).sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    for (const s of this.byTable.values()) s.lastTime = Number.NEGATIVE_INFINITY;
    for (const e of carry) await this.writeRow(e);
  }

  async close(_closeTime: number): Promise<void> {
    await this.drainInitialRun();
  }

  get holding(): boolean {
    return this.initialRun.length > 0;
  }

  async settle(): Promise<void> {
    await this.drainInitialRun();
  }

  private async drainInitialRun(): Promise<void> {
    if (this.initialRun.length === 0) return;
    const run = this.initialRun;
    this.initialRun = [];
    run.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    for (const e of run) await this.writeRow(e);
  }

  private async writeRow(event: PipelineSettingsEvent): Promise<void> {
    this.writeRowTo(await this.output.current(), event);
  }

  private writeRowTo(nwb: NwbFile, event: PipelineSettingsEvent): void {
    let state = this.byTable.get(event.table_name);
    if (!state) {
      checkSeriesName(event.table_name);
      state = { series: undefined, lastTime: this.notBefore };
      this.byTable.set(event.table_name, state);
    }
    state.series ??= nwb.has(`acquisition/${event.table_name}`)
      ? AnnotationSeries.open(nwb, event.table_name)
      : AnnotationSeries.create(nwb, event.table_name, ANNOTATION_DESCRIPTION);
    const stored = Math.max(state.lastTime, event.timestamp);
    state.series.append(stored, annotationRowText(event, stored !== event.timestamp ? event.timestamp : undefined));
    state.lastTime = stored;
    // Keyed by the two names as they are: a joined key would be a new string to hash per row.
    let latest = this.latest.get(event.table_name);
    if (latest === undefined) {
      latest = new Map();
      this.latest.set(event.table_name, latest);
    }
    latest.set(event.component_address, event);
    this.rows++;
    this.output.countRows();
  }
}

/** A table name must be usable as one HDF5 object name. */
function checkSeriesName(name: string): void {
  const problem = objectNameProblem(name);
  if (problem) throw new Error(`table_name ${JSON.stringify(name)} cannot name an NWB AnnotationSeries: it ${problem}`);
}
