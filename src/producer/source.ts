/**
 * What the producer needs from a place where settings live (an ezmsg GraphServer, our WebSocket
 * hub). The semantics are the GraphServer's settings API: a snapshot of current values, the
 * retained event history after a seq, and a live subscription after a seq (replay then live, no
 * gap and no duplicate between them). Timestamps are the source's wall clock (seconds since epoch).
 */
import type { JsonValue } from "../events/json.js";

/** Current settings of one component, as the source reports them. */
export interface SettingsValue {
  repr_value: JsonValue;
  structured_value: JsonValue;
}

export type SourceEventType = "INITIAL_SETTINGS" | "SETTINGS_UPDATED";

/** One settings change as the source recorded it (ezmsg's SettingsChangedEvent, minus transport). */
export interface SourceSettingsEvent {
  seq: number;
  /** Source wall clock, seconds since the Unix epoch. */
  timestamp: number;
  component_address: string;
  event_type: SourceEventType;
  value: SettingsValue;
  source_session_id: string | null;
}

/** Live events in seq order. Ends (the iterator returns) when the source closes the stream. */
export interface SettingsSubscription extends AsyncIterable<SourceSettingsEvent> {
  close(): Promise<void>;
}

export interface SettingsSource {
  /** Human-readable address for logs, e.g. "ezmsg://127.0.0.1:25978". */
  readonly description: string;
  settingsSnapshot(): Promise<Map<string, SettingsValue>>;
  settingsEvents(afterSeq: number): Promise<SourceSettingsEvent[]>;
  subscribe(afterSeq: number): Promise<SettingsSubscription>;
  /** Component addresses registered by one session, or null if the session is unknown. */
  sessionComponents(sessionId: string): Promise<string[] | null>;
  close(): Promise<void>;
}
