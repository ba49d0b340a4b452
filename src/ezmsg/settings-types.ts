/**
 * The settings shapes the GraphServer's settings API carries (ezmsg 3.9 `SettingsChangedEvent`
 * and a settings snapshot entry), as this client returns them. They are the client's own types:
 * the producer adapts them to its source interface (producer/ezmsg-source.ts).
 */
import type { JsonValue } from "../events/json.js";

/** Current settings of one component. */
export interface SettingsValue {
  repr_value: JsonValue;
  structured_value: JsonValue;
}

export type SettingsEventType = "INITIAL_SETTINGS" | "SETTINGS_UPDATED";

/** One settings change as the GraphServer recorded it (SettingsChangedEvent, minus transport). */
export interface SettingsChangedEvent {
  seq: number;
  /** Server wall clock, seconds since the Unix epoch. */
  timestamp: number;
  component_address: string;
  event_type: SettingsEventType;
  value: SettingsValue;
  source_session_id: string | null;
}
