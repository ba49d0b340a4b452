/**
 * What the monitor page shows, kept up to date from a {@link RecordingObserver}: the current
 * settings of every component (flattened to field paths, values as JSON text), the feed of changes
 * (which settings changed, old → new), and how long events took to become durable. Everything in
 * here is plain JSON-ready data: the page never sees bigints, Maps or NaN as numbers.
 */
import type { PipelineSettingsEvent } from "../../events/event.js";
import { isSentinel, settingsPayload } from "../../events/event.js";
import { createHash } from "node:crypto";
import { stringifyJson } from "../../events/json.js";
import { flattenSettings } from "../../events/sanitize.js";
import type { DurabilityReport, DurableWhere, RecordingObserver } from "../record/recording-observer.js";

/** Longest value text sent to the page; longer values end in "…" (the file has them whole). */
export const MAX_VALUE_CHARS = 400;
/** Changes the page is sent when it connects (it keeps as many). */
export const FEED_LENGTH = 500;
/** Changed settings listed per feed entry (a wide component's registration lists them all otherwise). */
export const FEED_CHANGES = 50;
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
  /** The first {@link FEED_CHANGES} changed settings, in the settings' order. */
  changes: SettingChange[];
  /** How many more settings changed. */
  more: number;
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

/**
 * One update for the page: the feed entry, and (unless the event was rejected) the component's
 * settings that changed, `[path, new value]` (null: the setting is gone). Only what changed is
 * sent, so a change of one setting of a wide component stays small.
 */
export interface ChangeMessage {
  entry: FeedEntry;
  values: [string, string | null][];
}

/** A setting's value as shown (`text`) and as compared (`key`: the whole value, hashed when long). */
interface Shown {
  text: string;
  key: string;
}

function shown(v: Parameters<typeof stringifyJson>[0]): Shown {
  const s = stringifyJson(v);
  if (s.length <= MAX_VALUE_CHARS) return { text: s, key: s };
  // a long value is cut for the page, but a change after its first 400 characters is still a change
  return { text: `${s.slice(0, MAX_VALUE_CHARS - 1)}…`, key: `${s.length}:${createHash("sha256").update(s).digest("base64")}` };
}

/** Exported for tests: a value as the page shows it. */
export const valueText = (v: Parameters<typeof stringifyJson>[0]): string => shown(v).text;

interface ComponentState {
  session: string | null;
  seq: number;
  t: number;
  settings: Map<string, Shown>;
}

function stateOf(event: PipelineSettingsEvent): ComponentState {
  const settings = new Map<string, Shown>();
  for (const [k, v] of flattenSettings(settingsPayload(event))) settings.set(k, shown(v));
  return { session: event.source_session_id, seq: event.seq, t: event.timestamp, settings };
}

function diff(before: ComponentState | undefined, after: ComponentState): SettingChange[] {
  const out: SettingChange[] = [];
  for (const [k, v] of after.settings) {
    const o = before?.settings.get(k);
    if (o?.key !== v.key) out.push({ setting: k, old: o ? o.text : null, new: v.text });
  }
  if (before) for (const [k, o] of before.settings) if (!after.settings.has(k)) out.push({ setting: k, old: o.text, new: null });
  return out;
}

function emptyStat(): DurabilityStat {
  return { events: 0, last: null, maxRecent: null, max: null, recent: [] };
}

/** Keeps the page's model; `listener` hears each change as it is applied. */
export class MonitorModel implements RecordingObserver {
  private readonly components = new Map<string, ComponentState>();
  private readonly feed: FeedEntry[] = [];
  private readonly durability: DurabilityView = { journal: emptyStat(), file: emptyStat() };

  constructor(private readonly listener: (message: ChangeMessage) => void = () => {}) {}

  current(latest: readonly PipelineSettingsEvent[]): void {
    for (const e of latest) if (!isSentinel(e)) this.components.set(e.component_address, stateOf(e));
  }

  accepted(event: PipelineSettingsEvent): void {
    if (isSentinel(event)) return;
    const state = stateOf(event);
    const changes = diff(this.components.get(event.component_address), state);
    this.components.set(event.component_address, state);
    const entry = this.push(event, changes);
    this.listener({ entry, values: changes.map((c) => [c.setting, c.new]) });
  }

  rejected(event: PipelineSettingsEvent, reason: string): void {
    if (isSentinel(event)) return;
    const entry = this.push(event, diff(this.components.get(event.component_address), stateOf(event)), reason);
    this.listener({ entry, values: [] });
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

  private push(event: PipelineSettingsEvent, changes: SettingChange[], rejected?: string): FeedEntry {
    const entry: FeedEntry = {
      seq: event.seq,
      t: event.timestamp,
      component: event.component_address,
      type: event.event_type,
      changes: changes.slice(0, FEED_CHANGES),
      more: Math.max(0, changes.length - FEED_CHANGES),
      ...(rejected !== undefined ? { rejected } : {}),
    };
    this.feed.push(entry);
    if (this.feed.length > FEED_LENGTH) this.feed.splice(0, this.feed.length - FEED_LENGTH);
    return entry;
  }

  durabilityView(): DurabilityView {
    return {
      journal: { ...this.durability.journal, recent: [...this.durability.journal.recent] },
      file: { ...this.durability.file, recent: [...this.durability.file.recent] },
    };
  }

  snapshot(): MonitorSnapshot {
    return {
      components: [...this.components]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([address, c]) => ({ address, session: c.session, seq: c.seq, t: c.t, settings: [...c.settings].map(([k, v]) => [k, v.text]) })),
      feed: [...this.feed],
      durability: this.durabilityView(),
    };
  }
}
