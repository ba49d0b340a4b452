/**
 * The typed-column sink: a `TimeIntervals` table (/intervals/pipeline_settings) with one native-typed
 * column per flattened setting and one row per interval during which a settings state was active.
 * Semantics follow the reference's typed-column consumer (docs/table-sink.md):
 * - per-component INITIALs before the table exists are merged in memory; the `__init_final__`
 *   sentinel (or an UPDATED arriving first, or close) writes them as one anchor row
 *   `[t_first, t_first]` with `updated_component = "__init_final__"` and opens an interval;
 * - a first event with nothing buffered writes an anchor row `[t, t]` for its component;
 * - every later event closes the open interval (`[active_since, t]`, previous state and previous
 *   `updated_component`) and opens a new one at `t` with the merged state;
 * - a new column, or a value whose kind (dtype or cell shape) the column cannot hold exactly,
 *   rotates to the next file segment: closing row in the old one, anchor `[t, t]` in the new one;
 * - close writes a still-buffered INITIAL set and the open interval `[active_since, close_time]`.
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
import { COLUMN_TYPE, type CellKind, cellTextProblem, kindChange, kindOf, rowValueOf } from "./table-schema.js";
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
  private prevComponent = "";
  /** The table in the open segment; undefined until its first row there. */
  private table: TimeIntervals | undefined;
  private rows = 0;
  private closed = false;
  readonly rotations: Rotation[] = [];

  constructor(
    private readonly output: NwbOutput,
    options: TableSinkOptions = {},
  ) {
    this.tableName = options.tableName ?? DEFAULT_SETTINGS_TABLE_NAME;
    checkTableName(this.tableName);
    // Any new segment (ours or another writer's) starts without the table: the next row creates it
    // there with the current schema.
    output.onSegment(() => {
      this.table = undefined;
    });
  }

  /** Rows written (staged or flushed) so far, across segments. */
  get rowCount(): number {
    return this.rows;
  }

  async write(event: PipelineSettingsEvent): Promise<void> {
    if (this.closed) throw new Error("table sink is closed");
    if (isSentinel(event)) {
      await this.flushPending();
      return;
    }
    // Everything that can reject the event happens before any state changes.
    const flat = this.flatten(event);
    if (flat.size === 0) return;
    const t = event.timestamp;
    const component = event.component_address;

    if (event.event_type === "INITIAL" && this.schema === undefined) {
      this.pending ??= { state: new Map(), firstSeen: t };
      for (const [col, v] of flat) this.pending.state.set(col, v);
      return;
    }
    if (this.pending) await this.flushPending();

    if (this.schema === undefined) {
      this.open(flat, t, component);
      await this.writeRow(t, t, component);
      return;
    }
    const reasons = this.rotationReasons(flat);
    if (reasons.length > 0) {
      // An output that may not start a new file (a user's file, a data series open) refuses
      // before anything changes here.
      if (!this.output.canRotate) throw new OutputRefusedError(`${this.output.basePath}: the table would need a new file (${reasons.join("; ")})`, this.output.basePath);
      await this.closeInterval(t);
      const merged = this.stateMap();
      for (const [col, v] of flat) merged.set(col, v);
      this.rotations.push({ time: t, component, reasons });
      await this.output.rotate();
      this.open(merged, t, component);
      await this.writeRow(t, t, component);
      return;
    }
    await this.closeInterval(t);
    // No rotation: every column of `flat` is in the schema.
    for (const [col, v] of flat) {
      const i = this.position.get(col)!;
      if (this.state[i] !== v) {
        this.state[i] = v;
        this.rowValues[i + 1] = rowValueOf(v);
      }
    }
    this.activeSince = t;
    this.prevComponent = component;
  }

  flush(): void {
    this.output.flush();
  }

  async close(closeTime: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushPending();
    if (this.activeSince !== undefined) {
      await this.closeInterval(closeTime);
      this.activeSince = undefined;
    }
    this.output.flush();
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

  /** The merged startup snapshot as one anchor row; no-op when nothing is buffered. */
  private async flushPending(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.open(p.state, p.firstSeen, INIT_FINAL_COMPONENT_ADDRESS);
    await this.writeRow(p.firstSeen, p.firstSeen, INIT_FINAL_COMPONENT_ADDRESS);
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
    this.prevComponent = component;
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

  /** Write the open interval `[active_since, t]` (stop clamped to start, as the reference does). */
  private async closeInterval(t: number): Promise<void> {
    const since = this.activeSince;
    if (since === undefined) return;
    await this.writeRow(since, Math.max(since, t), this.prevComponent);
  }

  private async writeRow(start: number, stop: number, component: string): Promise<void> {
    const nwb = await this.output.current();
    this.table ??= await TimeIntervals.create(nwb, this.tableName, TABLE_DESCRIPTION, this.columnSpecs());
    // Column order is columnSpecs()'s: updated_component, then the schema's columns. The table
    // copies what it stages (scalars by value; array cells are replaced, never mutated, here).
    const values = this.rowValues;
    values[0] = component;
    this.table.appendRowValues(start, stop, values);
    this.rows++;
    this.output.countRows();
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
