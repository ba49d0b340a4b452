/**
 * The sinks named on a command line (`--sinks annotations,table`), all writing into one
 * segmented NWB output, fed in order.
 */
import { EventRejectedError, OutputError, isNwbSettingsError } from "../errors.js";
import type { PipelineSettingsEvent } from "../events/event.js";
import type { NwbOutput } from "../output/output.js";
import { AnnotationSink } from "./annotation-sink.js";
import type { SettingsSink } from "./sink.js";
import { TableSink } from "./table-sink.js";

export const SINK_NAMES = ["annotations", "table"] as const;
export type SinkName = (typeof SINK_NAMES)[number];

/** Parse `annotations,table` (order kept, duplicates dropped); unknown names are an error. */
export function parseSinkList(text: string): SinkName[] {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error(`--sinks needs at least one of: ${SINK_NAMES.join(", ")}`);
  const out: SinkName[] = [];
  for (const n of names) {
    if (!(SINK_NAMES as readonly string[]).includes(n)) throw new Error(`unknown sink "${n}" in --sinks (known: ${SINK_NAMES.join(", ")})`);
    if (!out.includes(n as SinkName)) out.push(n as SinkName);
  }
  return out;
}

export interface SinkSetOptions {
  /** Events the sinks will get at most, when known in advance (convert): sizes the table's chunks. */
  expectedEvents?: number;
  /** Name of the typed table in /intervals (default `pipeline_settings`). */
  tableName?: string;
  /**
   * The earliest time a row may have (attach: 0, the recording's time zero). An earlier event's
   * state counts from this time: the table's first row starts here with the state in effect then;
   * the JSON rows are stored at this time with the event's own time in their `"timestamp"` key.
   */
  notBefore?: number;
}

export function createSink(name: SinkName, output: NwbOutput, options: SinkSetOptions = {}): SettingsSink {
  switch (name) {
    case "annotations":
      return new AnnotationSink(output, options.notBefore === undefined ? {} : { notBefore: options.notBefore });
    case "table": {
      const { expectedEvents, tableName, notBefore } = options;
      return new TableSink(output, {
        ...(expectedEvents === undefined ? {} : { expectedEvents }),
        ...(tableName === undefined ? {} : { tableName }),
        ...(notBefore === undefined ? {} : { notBefore }),
      });
    }
  }
}

export class SinkSet {
  readonly sinks: SettingsSink[];

  constructor(
    names: readonly SinkName[],
    readonly output: NwbOutput,
    options: SinkSetOptions = {},
  ) {
    this.sinks = names.map((n) => createSink(n, output, options));
  }

  /**
   * Write to every sink, or (when one would reject the event) to none. Like a sink's write, returns
   * undefined when every sink took the event synchronously, else a promise to await before the next
   * event; a refusal is thrown (or rejected) as an EventRejectedError, a write failure as an OutputError.
   */
  write(event: PipelineSettingsEvent): Promise<void> | undefined {
    try {
      for (const s of this.sinks) s.check(event);
    } catch (err) {
      throw isNwbSettingsError(err) ? err : new EventRejectedError((err as Error).message, err);
    }
    for (let i = 0; i < this.sinks.length; i++) {
      let pending: Promise<void> | undefined;
      try {
        pending = this.sinks[i]!.write(event);
      } catch (err) {
        throw this.writeFailure(err);
      }
      if (pending !== undefined) return this.writeRest(pending, event, i + 1);
    }
    return undefined;
  }

  private async writeRest(pending: Promise<void>, event: PipelineSettingsEvent, from: number): Promise<void> {
    try {
      await pending;
      for (let i = from; i < this.sinks.length; i++) await this.sinks[i]!.write(event);
    } catch (err) {
      throw this.writeFailure(err);
    }
  }

  /** Every sink accepted the event: a failure now is the file's (disk full, I/O), not the event's. */
  private writeFailure(err: unknown): Error {
    return isNwbSettingsError(err) ? err : new OutputError(`cannot write ${this.output.basePath}: ${(err as Error).message}`, this.output.basePath, err);
  }

  flush(now?: number): void {
    for (const s of this.sinks) s.flush(now);
  }

  /** Whether a sink holds events back for merging (see {@link SettingsSink.holding}). */
  get holding(): boolean {
    return this.sinks.some((s) => s.holding === true);
  }

  /** Write what the sinks hold back for merging, as if the run of INITIAL events had ended. */
  async settle(): Promise<void> {
    for (const s of this.sinks) await s.settle?.();
  }

  /**
   * Start the next segment at file time `t` because the current one is full (`record --split-bytes`):
   * every sink ends what is open at `t`, and opens the new segment with the current settings state
   * (docs/stream-writer.md, "Segments").
   */
  async split(t: number): Promise<void> {
    for (const s of this.sinks) await s.segmentEnding?.(t);
    await this.output.rotate();
    for (const s of this.sinks) await s.segmentStarted?.(t);
  }

  /** Close every sink at `closeTime`, then the output (empty segments are removed). */
  async close(closeTime: number): Promise<void> {
    try {
      for (const s of this.sinks) await s.close(closeTime);
    } finally {
      await this.output.close();
    }
  }
}
