/**
 * What the monitor page shows, kept up to date from a {@link RecordingObserver}: the current
 * settings of every component (flattened to field paths, values as JSON text), the feed of changes
 * (which settings changed, old → new), and how long events took to become durable. Everything in
 * here is plain JSON-ready data: the page never sees bigints, Maps or NaN as numbers.
 */
import type { PipelineSettingsEvent } from "../../events/event.js";
import { isSentinel, settingsPayload } from "../../events/event.js";
import { stringifyJson } from "../../events/json.js";
import { flattenSettings } from "../../events/sanitize.js";
import type { DurabilityReport, DurableWhere, RecordingObserver } from "../record/recording-observer.js";

/** Longest value text sent to the page; longer values end in "…" (the file has them whole). */
export const MAX_VALUE_CHARS = 400;
/** Changes the page is sent when it connects (it keeps as many). */
export const FEED_LENGTH = 500;
/** Durability: the window of the "max" figure. */
export const DURABILITY_WINDOW_SECONDS = 60;
/** Durability steps kept for the window (a journal under load syncs about 10 times a second). */
const MAX_RECENT_STEPS = 1000;

export interface ComponentView {
  address: string;
  session: string | null;
  seq: number;
  /** File time of the latest event. */
  t: number;
  /** Field path → value as JSON text, in the settings' own order. */
  settings: [string, string][];
}

export interface SettingChange {
  setting: string;
  /** null: the setting did not exist before / no longer exists. */
  old: string | null;
  new: string | null;
}

export interface FeedEntry {
  seq: number;
  t: number;
  component: string;
  type: "INITIAL" | "UPDATED";
  changes: SettingChange[];
  /** Set when no sink could hold the event (it is in the journal only). */
  rejected?: string;
}

export interface DurabilityStat {
  /** Live events made durable so far. */
  events: number;
  /** Worst latency of the latest step, seconds (null before the first). */
  last: number | null;
  /** Worst latency within the last {@link DURABILITY_WINDOW_SECONDS} of file time. */
  maxRecent: number | null;
  /** Worst latency since the start. */
  max: number | null;
  /** Recent steps: [file time, worst latency] for a sparkline. */
  recent: [number, number][];
}

export type DurabilityView = Record<DurableWhere, DurabilityStat>;

export interface MonitorSnapshot {
  components: ComponentView[];
  feed: FeedEntry[];
  durability: DurabilityView;
}

/** One update for the page: the change and the component as it now is. */
export interface ChangeMessage {
  entry: FeedEntry;
  component: ComponentView | null;
}

export function valueText(v: Parameters<typeof stringifyJson>[0]): string {
  const s = stringifyJson(v);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

function viewOf(event: PipelineSettingsEvent): ComponentView {
  const flat = flattenSettings(settingsPayload(event));
  return {
    address: event.component_address,
    session: event.source_session_id,
    seq: event.seq,
    t: event.timestamp,
    settings: [...flat].map(([k, v]) => [k, valueText(v)]),
  };
}

function diff(before: ComponentView | undefined, after: ComponentView): SettingChange[] {
  const old = new Map(before?.settings ?? []);
  const out: SettingChange[] = [];
  for (const [k, v] of after.settings) {
    const o = old.get(k);
    if (o !== v) out.push({ setting: k, old: o ?? null, new: v });
    old.delete(k);
  }
  if (before) for (const [k, o] of old) out.push({ setting: k, old: o, new: null });
  return out;
}

function emptyStat(): DurabilityStat {
  return { events: 0, last: null, maxRecent: null, max: null, recent: [] };
}

/** Keeps the page's model; `listener` hears each change as it is applied. */
export class MonitorModel implements RecordingObserver {
  private readonly components = new Map<string, ComponentView>();
  private readonly feed: FeedEntry[] = [];
  private readonly durability: DurabilityView = { journal: emptyStat(), file: emptyStat() };

  constructor(private readonly listener: (message: ChangeMessage) => void = () => {}) {}

  current(latest: readonly PipelineSettingsEvent[]): void {
    for (const e of latest) if (!isSentinel(e)) this.components.set(e.component_address, viewOf(e));
  }

  accepted(event: PipelineSettingsEvent): void {
    if (isSentinel(event)) return;
    const view = viewOf(event);
    const entry: FeedEntry = {
      seq: event.seq,
      t: event.timestamp,
      component: event.component_address,
      type: event.event_type,
      changes: diff(this.components.get(event.component_address), view),
    };
    this.components.set(event.component_address, view);
    this.push(entry);
    this.listener({ entry, component: view });
  }

  rejected(event: PipelineSettingsEvent, reason: string): void {
    if (isSentinel(event)) return;
    const entry: FeedEntry = {
      seq: event.seq,
      t: event.timestamp,
      component: event.component_address,
      type: event.event_type,
      changes: diff(this.components.get(event.component_address), viewOf(event)),
      rejected: reason,
    };
    this.push(entry);
    this.listener({ entry, component: null });
  }

  durable(report: DurabilityReport): void {
    const s = this.durability[report.where];
    const worst = report.oldestSeconds;
    s.events += report.events;
    s.last = worst;
    s.max = s.max === null ? worst : Math.max(s.max, worst);
    s.recent.push([report.at, worst]);
    const from = report.at - DURABILITY_WINDOW_SECONDS;
    while (s.recent.length > 0 && (s.recent[0]![0] < from || s.recent.length > MAX_RECENT_STEPS)) s.recent.shift();
    s.maxRecent = Math.max(...s.recent.map((r) => r[1]));
  }

  private push(entry: FeedEntry): void {
    this.feed.push(entry);
    if (this.feed.length > FEED_LENGTH) this.feed.splice(0, this.feed.length - FEED_LENGTH);
  }

  durabilityView(): DurabilityView {
    return {
      journal: { ...this.durability.journal, recent: [...this.durability.journal.recent] },
      file: { ...this.durability.file, recent: [...this.durability.file.recent] },
    };
  }

  snapshot(): MonitorSnapshot {
    return {
      components: [...this.components.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
      feed: [...this.feed],
      durability: this.durabilityView(),
    };
  }
}
