/**
 * The typed-column sink: a `TimeIntervals` table (/intervals/pipeline_settings) with one native-typed
 * column per flattened setting and one row per interval during which a settings state was active
 * (docs/table-sink.md). Every row has positive length; there are no anchor rows:
 * - per-component INITIALs before the table exists are merged in memory; the `__init_final__`
 *   sentinel (or an UPDATED arriving first, or close) opens the merged startup state as the first
 *   row, from the first buffered INITIAL's time, `updated_component = "__init_final__"`;
 * - a first event with nothing buffered opens the first row at its time, for its component;
 * - the open interval is a row on disk from the next flush on: its stop_time is the latest time
 *   known (flush time, later events), NaN while none is later than its start, rewritten in place;
 * - a later event sets the open row's stop_time to its time for good and opens a new row; a change
 *   at the instant the open state began (or before it: out of time order) is merged into that row
 *   in place instead (no zero-length row; the JSON-row sink keeps every event);
 * - a new column, or a value whose kind (dtype or cell shape) the column cannot hold (a float64
 *   column does hold an exactly representable integer), rotates to the next file segment;
 * - close ends the open row at the close time (NaN when the close time is not later than its start).
 * Rows are staged and appended in place by the NWB layer; a segment without rows is deleted.
 */
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent, isSentinel, settingsPayload } from "../events/event.js";
import { ColumnNamer, flattenSettings, sanitizeSettingsValue } from "../events/sanitize.js";
import type { CellValue } from "../events/settings-values.js";
import type { RowValue } from "../nwb/hdf5/appendable-dataset.js";
import { OutputRefusedError } from "../errors.js";
import type { NwbOutput } from "../output/output.js";
import { type ColumnSpec, TimeIntervals } from "../nwb/time-intervals.js";
import type { SettingsSink } from "./sink.js";
import { COLUMN_TYPE, type CellKind, cellTextProblem, kindChange, kindOf, rowValueOf, widenFor } from "./table-schema.js";
import { objectNameProblem, textProblem } from "../nwb/hdf5/text-rules.js";

export const DEFAULT_SETTINGS_TABLE_NAME = "pipeline_settings";
export const UPDATED_COMPONENT_COLUMN = "updated_component";
export const TABLE_DESCRIPTION =
  "Pipeline settings recorded by nwb-settings: one row per interval during which a settings state was active, one column per flattened setting";
export const UPDATED_COMPONENT_DESCRIPTION =
  'Address of the component whose settings change opened this interval ("__init_final__": the merged startup snapshot)';

/**
 * Names a settings column may never take (the table's own columns and TimeIntervals' optional
 * ones). Sanitized names contain a "." (or are "setting…"), so these cannot clash today; "." (HDF5's
 * "this group") is also excluded, should the namer ever produce it.
 */
const RESERVED_COLUMN_NAMES = [".", "id", "start_time", "stop_time", "tags", "timeseries", UPDATED_COMPONENT_COLUMN];

export interface TableSinkOptions {
  /** Name of the table in /intervals (default `pipeline_settings`). */
  tableName?: string;
  /**
   * Events the sink will get at most (convert knows it from its first pass): the table's chunks
   * need not hold more rows than that (small logs make small files).
   */
  expectedEvents?: number;
  /**
   * The earliest time a row may start (attach: the recording's time zero). Events before it count
   * as happening at it, so the state in effect then is the first row, starting there.
   */
  notBefore?: number;
}

/** One schema rotation: when, for which event, and why (first reason per column). */
export interface Rotation {
  time: number;
  component: string;
  reasons: string[];
}

interface Pending {
  state: Map<string, CellValue>;
  firstSeen: number;
}

export class TableSink implements SettingsSink {
  readonly tableName: string;
  private readonly namer = new ColumnNamer(RESERVED_COLUMN_NAMES);
  private checked: { event: PipelineSettingsEvent; fields: [string, CellValue][] } | undefined;
  private readonly descriptions = new Map<string, string>();
  /** Buffered per-component INITIALs (only while no table schema exists). */
  private pending: Pending | undefined;
  /**
   * Column kinds of the current segment's table, in column order; undefined before the first row.
   * Its iteration order is the settings columns' position in the table (after updated_component).
   */
  private schema: Map<string, CellKind> | undefined;
  /** Column name → position in schema order (index into `state` / `rowValues`). */
  private position = new Map<string, number>();
  /** The settings state of the open interval: one value per schema column, in schema order. */
  private state: CellValue[] = [];
  /**
   * The open interval's row as TimeIntervals takes it: `updated_component` at 0, then the row value
   * of each schema column. Only the cells an event changes are replaced (no per-row rebuild).
   */
  private rowValues: RowValue[] = [];
  private activeSince: number | undefined;
  /** The component whose change opened the open interval (`__init_final__` for the startup state). */
  private openComponent = "";
  /** Whether the open interval's row is the last row of the current segment's table. */
  private openRowHere = false;
  /** Whether that row is already appended to the table (the first row of a segment waits). */
  private openRowInTable = false;
  /** The stop_time the open row holds now (NaN while its end is not known yet). */
  private openStop = Number.NaN;
  /** The latest time known to have passed: event times and the times flushes were made at. */
  private latest = Number.NEGATIVE_INFINITY;
  /** The table in the open segment; undefined until its first row there. */
  private table: TimeIntervals | undefined;
  private rows = 0;
  private closed = false;
  readonly rotations: Rotation[] = [];
  private readonly expectedEvents: number | undefined;
  private readonly notBefore: number;
  /** Events written so far (for the rows a new segment's table may still get). */
  private events = 0;

  constructor(
    private readonly output: NwbOutput,
    options: TableSinkOptions = {},
  ) {
    this.tableName = options.tableName ?? DEFAULT_SETTINGS_TABLE_NAME;
    this.expectedEvents = options.expectedEvents;
    this.notBefore = options.notBefore ?? Number.NEGATIVE_INFINITY;
    checkTableName(this.tableName);
    // Any new segment (ours or another writer's) starts without the table: the next row creates it
    // there with the current schema.
    output.onSegment(() => {
      this.table = undefined;
      this.openRowHere = false;
      this.openRowInTable = false;
    });
  }

  /** Rows written (staged or flushed) so far, across segments. */
  get rowCount(): number {
    return this.rows;
  }

  async write(event: PipelineSettingsEvent): Promise<void> {
    if (this.closed) throw new Error("table sink is closed");
    // Events before `notBefore` count as happening at it (the event itself is not changed: other
    // sinks share it, and events may be text-backed objects that a spread would not copy).
    const t = Math.max(event.timestamp, this.notBefore);
    if (isSentinel(event)) {
      await this.flushPending();
      this.seen(t);
      return;
    }
    // Everything that can reject the event happens before any state changes.
    const flat = this.flatten(event);
    this.events++;
    if (flat.size === 0) {
      this.seen(t);
      return;
    }
    const component = event.component_address;

    if (event.event_type === "INITIAL" && this.schema === undefined) {
      this.pending ??= { state: new Map(), firstSeen: t };
      for (const [col, v] of flat) this.pending.state.set(col, v);
      this.seen(t);
      return;
    }
    if (this.pending) await this.flushPending();

    if (this.schema === undefined) {
      this.open(flat, t, component);
      this.seen(t);
      await this.writeOpenRow();
      return;
    }
    // Another writer rotated the output: the open state continues in the new segment.
    if (!this.openRowHere) await this.writeOpenRow();
    // A change at (or, out of time order, before) the instant the open state began is part of that
    // state: no zero-length row. The row keeps its start and its opening component.
    const since = this.activeSince!;
    const sameInstant = t <= since;
    this.widen(flat);
    const reasons = this.rotationReasons(flat);
    if (reasons.length > 0) {
      // An output that may not start a new file (a user's file, a data series open) refuses
      // before anything changes here.
      if (!this.output.canRotate)
        throw new OutputRefusedError(`${this.output.basePath}: the table would need a new file (${reasons.join("; ")})`, this.output.basePath);
      const merged = this.stateMap();
      for (const [col, v] of flat) merged.set(col, v);
      const start = sameInstant ? since : t;
      const opener = sameInstant ? this.openComponent : component;
      if (sameInstant) this.dropOpenRow();
      else await this.endOpenRow(t);
      this.rotations.push({ time: t, component, reasons });
      await this.output.rotate();
      this.open(merged, start, opener);
      this.seen(t);
      await this.writeOpenRow();
      return;
    }
    // No rotation: every column of `flat` is in the schema. The open row is ended (written with the
    // state it had) before the state takes the event.
    if (!sameInstant) await this.endOpenRow(t);
    let changed = false;
    for (const [col, v] of flat) {
      const i = this.position.get(col)!;
      if (!Object.is(this.state[i], v)) {
        this.state[i] = v;
        this.rowValues[i + 1] = rowValueOf(v);
        changed = true;
      }
    }
    this.seen(t);
    if (sameInstant) {
      if (changed) await this.rewriteOpenRow();
      return;
    }
    this.activeSince = t;
    this.openComponent = component;
    await this.writeOpenRow();
  }

  /**
   * Write every staged row. `now` (file time) is when the flush happens: the open interval's
   * stop_time becomes the latest time known, so the file always shows how long the current state
   * has lasted so far.
   */
  flush(now?: number): void {
    if (now !== undefined && Number.isFinite(now)) this.seen(now);
    if (this.openRowHere && this.activeSince !== undefined) {
      this.materializeNow();
      this.setOpenStop(this.provisionalStop());
    }
    this.output.flush();
  }

  async close(givenCloseTime: number): Promise<void> {
    if (this.closed) return;
    const closeTime = Math.max(givenCloseTime, this.notBefore);
    this.closed = true;
    await this.flushPending();
    if (this.activeSince !== undefined && this.openRowHere) {
      await this.materialize();
      // The last interval ends at the close time; when it began at that very time (or later: events
      // out of time order) its end is unknown, so its stop_time is NaN, never a zero-length row.
      this.setOpenStop(closeTime > this.activeSince ? closeTime : Number.NaN);
    }
    this.activeSince = undefined;
    this.openRowHere = false;
    this.output.flush();
  }

  // No `holding`/`settle` here (unlike the JSON rows): INITIAL events buffered before the table
  // exists wait for the sentinel, a change, a size split or close even when they go quiet. Writing
  // them early would fix the schema while a pipeline's components are still registering (processes
  // start seconds apart), and each later one would then start a new file (a new column).

  async segmentEnding(t: number): Promise<void> {
    if (this.closed) return;
    // INITIAL events held for merging (components that joined after the start) become the state
    // of the segment ending: it holds what arrived while it was open.
    await this.flushPending();
    if (this.activeSince === undefined || !this.openRowHere) return;
    // The state goes on in the next segment; here its row ends at the split (none if it began there).
    if (t > this.activeSince) await this.endOpenRow(t);
    else this.dropOpenRow();
  }

  async segmentStarted(t: number): Promise<void> {
    if (this.closed || this.activeSince === undefined) return;
    // The new segment opens with the current state: the same row start (the state has held since
    // then), so a reader of this file alone knows the settings its first samples were taken with.
    this.seen(t);
    await this.writeOpenRow();
  }

  check(event: PipelineSettingsEvent): void {
    if (this.closed) throw new Error("table sink is closed");
    if (!isSentinel(event)) this.checked = { event, fields: this.sanitizedFields(event) };
  }

  /**
   * An event's settings flattened and sanitized; throws, naming component and setting, on text
   * HDF5 cannot store. Pure: no state changes, so `check` can run it ahead of `write`.
   */
  private sanitizedFields(event: PipelineSettingsEvent): [string, CellValue][] {
    if (this.checked?.event === event) return this.checked.fields;
    const component = event.component_address;
    const componentProblem = textProblem(component);
    if (componentProblem) {
      throw new Error(`component address ${JSON.stringify(component)} ${componentProblem}; event seq ${event.seq} rejected`);
    }
    const fields: [string, CellValue][] = [];
    for (const [field, raw] of flattenSettings(settingsPayload(event))) {
      const v = sanitizeSettingsValue(raw);
      const problem = cellTextProblem(v) ?? textProblem(field);
      if (problem) {
        throw new Error(`setting ${JSON.stringify(field)} of component ${JSON.stringify(component)} ${problem}; event seq ${event.seq} rejected`);
      }
      fields.push([field, v]);
    }
    return fields;
  }

  /** Column name → value for an accepted event; only accepted events reserve column names. */
  private flatten(event: PipelineSettingsEvent): Map<string, CellValue> {
    const component = event.component_address;
    const fields = this.sanitizedFields(event);
    this.checked = undefined;
    const out = new Map<string, CellValue>();
    for (const [field, v] of fields) {
      const col = this.namer.columnFor(component, field);
      if (!this.descriptions.has(col)) this.descriptions.set(col, `Setting "${field}" of component "${component}"`);
      out.set(col, v);
    }
    return out;
  }

  /** The merged startup snapshot as the first row, open from its first-seen time; no-op when nothing is buffered. */
  private async flushPending(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.open(p.state, p.firstSeen, INIT_FINAL_COMPONENT_ADDRESS);
    await this.writeOpenRow();
  }

  /** Start a table schema from a full state, with an interval open at `t`. */
  private open(state: Map<string, CellValue>, t: number, component: string): void {
    this.schema = new Map();
    this.position = new Map();
    this.state = [];
    this.rowValues = [""]; // updated_component, set per row
    for (const [col, v] of state) {
      this.schema.set(col, kindOf(v));
      this.position.set(col, this.state.length);
      this.state.push(v);
      this.rowValues.push(rowValueOf(v));
    }
    this.activeSince = t;
    this.openComponent = component;
  }

  /** Integers for float64 columns become the floats they equal (table-schema.ts, widenFor). */
  private widen(flat: Map<string, CellValue>): void {
    for (const [col, v] of flat) {
      const kind = this.schema!.get(col);
      if (kind === undefined || typeof v === "number" || typeof v === "string" || typeof v === "boolean") continue;
      const wide = widenFor(kind, v);
      if (wide !== undefined) flat.set(col, wide);
    }
  }

  private rotationReasons(flat: Map<string, CellValue>): string[] {
    const reasons: string[] = [];
    for (const [col, v] of flat) {
      const kind = this.schema!.get(col);
      if (kind === undefined) {
        reasons.push(`new column ${col}`);
        continue;
      }
      const change = kindChange(kind, kindOf(v));
      if (change) reasons.push(`${col}: ${change}`);
    }
    return reasons;
  }

  private seen(t: number): void {
    if (t > this.latest) this.latest = t;
  }

  /** The open interval's current end: the latest time known, once it is later than the start. */
  private provisionalStop(): number {
    return this.latest > this.activeSince! ? this.latest : Number.NaN;
  }

  private setOpenStop(stop: number): void {
    if (!this.openRowInTable || Object.is(stop, this.openStop)) return;
    this.table!.setLastStopTime(stop);
    this.openStop = stop;
  }

  /** Close the open interval at `t` (later than its start): its row gets its final stop_time. */
  private async endOpenRow(t: number): Promise<void> {
    if (this.openRowHere) {
      await this.materialize();
      this.setOpenStop(t);
    }
    this.openRowHere = false;
    this.openRowInTable = false;
  }

  /** Remove the open interval's row: its state lasted no time (replaced at the instant it began). */
  private dropOpenRow(): void {
    if (!this.openRowHere) return;
    if (this.openRowInTable) this.table!.dropLastRow();
    this.rows--;
    this.output.countRows(-1);
    this.openRowHere = false;
    this.openRowInTable = false;
  }

  /**
   * The open interval's row `[active_since, current end]` in the current segment. Appended at once
   * when the segment's table exists; the first row of a segment waits until it is flushed or ended
   * (or dropped: then no empty table is left behind), and the table is created with it.
   */
  private async writeOpenRow(): Promise<void> {
    await this.output.current();
    this.openRowHere = true;
    this.openRowInTable = false;
    this.rows++;
    this.output.countRows();
    if (this.table) this.appendOpenRow();
  }

  /** Create the segment's table for a waiting first row, and append it. */
  private async materialize(): Promise<void> {
    if (!this.openRowHere || this.openRowInTable) return;
    this.table ??= await TimeIntervals.create(await this.output.current(), this.tableName, TABLE_DESCRIPTION, this.columnSpecs(), this.layout());
    this.appendOpenRow();
  }

  /** {@link materialize} for a flush, which cannot wait: possible unless bool columns need a reopen. */
  private materializeNow(): void {
    if (!this.openRowHere || this.openRowInTable) return;
    if (!this.table) {
      const nwb = this.output.open;
      const specs = this.columnSpecs();
      if (!nwb || specs.some((c) => c.type === "bool")) return; // on disk at the next event or close
      this.table = TimeIntervals.createNow(nwb, this.tableName, TABLE_DESCRIPTION, specs, this.layout());
    }
    this.appendOpenRow();
  }

  private layout(): { expectedRows?: number } {
    return this.expectedEvents === undefined ? {} : { expectedRows: Math.max(1, this.expectedEvents - this.events + 1) };
  }

  private appendOpenRow(): void {
    // Column order is columnSpecs()'s: updated_component, then the schema's columns. The table
    // copies what it stages (scalars by value; array cells are replaced, never mutated, here).
    const values = this.rowValues;
    values[0] = this.openComponent;
    const stop = this.provisionalStop();
    this.table!.appendRowValues(this.activeSince!, stop, values);
    this.openStop = stop;
    this.openRowInTable = true;
  }

  /** The open interval's state changed at the instant it began: rewrite its row in place. */
  private async rewriteOpenRow(): Promise<void> {
    if (!this.openRowHere) {
      await this.writeOpenRow();
      return;
    }
    if (!this.openRowInTable) return; // appended with the current values when it is written
    const values = this.rowValues;
    values[0] = this.openComponent;
    this.table!.replaceLastRowValues(this.activeSince!, this.openStop, values);
  }

  /** The open interval's state as column → value, in schema order (for a rotation's merge). */
  private stateMap(): Map<string, CellValue> {
    const out = new Map<string, CellValue>();
    for (const [col, i] of this.position) out.set(col, this.state[i]!);
    return out;
  }

  private columnSpecs(): ColumnSpec[] {
    const specs: ColumnSpec[] = [{ name: UPDATED_COMPONENT_COLUMN, type: "text", description: UPDATED_COMPONENT_DESCRIPTION }];
    for (const [col, kind] of this.schema!) {
      specs.push({ name: col, type: COLUMN_TYPE[kind.dtype], cellShape: kind.shape, description: this.descriptions.get(col) ?? `Setting ${col}` });
    }
    return specs;
  }
}

function checkTableName(name: string): void {
  const problem = objectNameProblem(name);
  if (problem) throw new Error(`table name ${JSON.stringify(name)} cannot name an NWB TimeIntervals table: it ${problem}`);
}
