/**
 * The one message that flows from producers to sinks: one settings change of one component.
 * Field names and meaning follow the reference (`PipelineSettingsEvent` in the seed).
 */
import { type JsonObject, type JsonValue, formatFloat, quoteJson, stringifyJson } from "./json.js";

export const EVENT_TYPES = ["INITIAL", "UPDATED"] as const;
export type PipelineSettingsEventType = (typeof EVENT_TYPES)[number];

/** Default `table_name`: the AnnotationSeries the JSON-row sink writes into. */
export const DEFAULT_TABLE_NAME = "settings_annotations";

/**
 * Sentinel `component_address` of the event that ends the startup snapshot. Producers emit it
 * (INITIAL, `structured_value` null, `repr_value` "") right after the last per-component INITIAL.
 * Typed-column sinks flush their merged INITIAL row on it; JSON-row sinks write nothing for it.
 */
export const INIT_FINAL_COMPONENT_ADDRESS = "__init_final__";

export interface PipelineSettingsEvent {
  /** Sequence number from the settings source (monotonic per source). */
  seq: number;
  /** Seconds. From a live producer: the local monotonic clock; from a log: as written. */
  timestamp: number;
  component_address: string;
  event_type: PipelineSettingsEventType;
  /** Human-readable settings dump: an object for dataclass-shaped settings, else a repr string. */
  repr_value: JsonValue;
  /** Structured settings dump, or null when the structure could not be derived. */
  structured_value: JsonValue;
  source_session_id: string | null;
  table_name: string;
}

export function isSentinel(event: PipelineSettingsEvent): boolean {
  return event.component_address === INIT_FINAL_COMPONENT_ADDRESS;
}

/** The settings payload a sink should use: structured value when present, else the repr. */
export function settingsPayload(event: PipelineSettingsEvent): JsonValue {
  return event.structured_value !== null ? event.structured_value : event.repr_value;
}

/**
 * `stringifyJson(settingsPayload(event))`. Events read from JSON text keep it (`payloadText`,
 * src/events/event-text.ts), so it is not parsed and written again.
 */
export function settingsPayloadText(event: PipelineSettingsEvent): string {
  return (event as { payloadText?: string }).payloadText ?? stringifyJson(settingsPayload(event));
}

/**
 * The JSON text of one AnnotationSeries row: `stringifyJson(tableRowPayload(event))`, plus a
 * `"timestamp"` key with the event's own time when the row is stored at a later time.
 */
export function annotationRowText(event: PipelineSettingsEvent, ownTimestamp?: number): string {
  const row = `{"component": ${quoteJson(event.component_address)}, "event_type": ${quoteJson(event.event_type)}, "seq": ${event.seq}, "settings": ${settingsPayloadText(event)}`;
  return ownTimestamp === undefined ? `${row}}` : `${row}, "timestamp": ${formatFloat(ownTimestamp)}}`;
}

/** The JSON object of one AnnotationSeries row: `{component, event_type, seq, settings}`. */
export function tableRowPayload(event: PipelineSettingsEvent): JsonObject {
  return new Map<string, JsonValue>([
    ["component", event.component_address],
    ["event_type", event.event_type],
    ["seq", BigInt(event.seq)],
    ["settings", settingsPayload(event)],
  ]);
}

export function makeSentinel(seq: number, timestamp: number, tableName = DEFAULT_TABLE_NAME): PipelineSettingsEvent {
  return {
    seq,
    timestamp,
    component_address: INIT_FINAL_COMPONENT_ADDRESS,
    event_type: "INITIAL",
    repr_value: "",
    structured_value: null,
    source_session_id: null,
    table_name: tableName,
  };
}
