/**
 * What `nwb-settings show` prints: the timeline of changes or the state at one time, as aligned
 * text for a terminal, JSON (values keep their type: floats stay floats, big integers exact) or
 * CSV (values as JSON text). Filters select components and settings by glob (`*`, `?`).
 */
import { type JsonValue, stringifyJson } from "../../events/json.js";
import type { SettingChange, SettingValue, SettingsHistory, SettingsState } from "./settings-history.js";
import { type ReferenceTime, formatWallClock, parseIsoTime, spansDates } from "./wall-clock.js";

export type ShowFormat = "text" | "json" | "csv";
export const SHOW_FORMATS: readonly ShowFormat[] = ["text", "json", "csv"];

export interface ShowFilter {
  components?: readonly string[];
  settings?: readonly string[];
}

/** A glob (`*` any text, `?` one character) as an anchored regular expression. */
function globRegex(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

/** A predicate on (component, setting) from the filters: each list matches when any glob does. */
export function filterPredicate(filter: ShowFilter): (component: string, setting: string) => boolean {
  const comps = (filter.components ?? []).map(globRegex);
  const sets = (filter.settings ?? []).map(globRegex);
  return (c, s) => (comps.length === 0 || comps.some((r) => r.test(c))) && (sets.length === 0 || sets.some((r) => r.test(s)));
}

/** A settings value as JSON (it is one). */
export function valueJson(v: SettingValue): JsonValue {
  return v;
}

/** A settings value as text: JSON, so `5` (int), `5.0` (float), `"5"` (text) and `true` differ. */
export function valueText(v: SettingValue | undefined): string {
  return v === undefined ? "–" : stringifyJson(valueJson(v));
}

function fileTimeText(t: number): string {
  return Number.isFinite(t) ? t.toFixed(6) : String(t);
}

class Clock {
  private readonly ref: ReferenceTime | undefined;
  private readonly withDate: boolean;
  constructor(history: SettingsHistory) {
    this.ref = parseIsoTime(history.referenceTime);
    this.withDate = this.ref !== undefined && spansDates(history.start, history.end, this.ref);
  }
  wall(t: number): string {
    return this.ref && Number.isFinite(t) ? formatWallClock(t, this.ref, this.withDate) : "";
  }
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(rows: string[][]): string {
  return rows.map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

/** Columns padded to their widest cell (the last column is not padded). */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...c].length);
    });
  }
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - [...c].length)))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** The timeline of changes (filtered). */
export function formatTimeline(history: SettingsHistory, filter: ShowFilter, format: ShowFormat): string {
  const keep = filterPredicate(filter);
  const changes = history.changes.filter((c) => keep(c.component, c.setting));
  const clock = new Clock(history);
  if (format === "json") {
    return `${stringifyJson(
      new Map<string, JsonValue>([
        ["files", history.files],
        ["source", history.source],
        ["timestamps_reference_time", history.referenceTime],
        ["changes", changes.map((c) => changeJson(c, clock))],
      ]),
    )}\n`;
  }
  if (format === "csv") {
    return csv([
      ["time", "wall_clock", "component", "setting", "event_type", "old", "new"],
      ...changes.map((c) => [
        fileTimeText(c.time),
        clock.wall(c.time),
        c.component,
        c.setting,
        c.eventType,
        c.old === undefined ? "" : valueText(c.old),
        valueText(c.value),
      ]),
    ]);
  }
  const head = `${history.files.join(", ")}: ${changes.length} change${changes.length === 1 ? "" : "s"} (${history.source === "annotations" ? "JSON rows" : "typed table"}), file time ${fileTimeText(history.start)}…${fileTimeText(history.end)} s from ${history.referenceTime}\n`;
  if (changes.length === 0) return head;
  return (
    head +
    table([
      ["time (s)", "wall clock", "component", "setting", "old → new"],
      ...changes.map((c) => [fileTimeText(c.time), clock.wall(c.time), c.component, c.setting, `${valueText(c.old)} → ${valueText(c.value)}`]),
    ])
  );
}

function changeJson(c: SettingChange, clock: Clock): JsonValue {
  const m = new Map<string, JsonValue>([
    ["time", c.time],
    ["wall_clock", clock.wall(c.time)],
    ["component", c.component],
    ["setting", c.setting],
    ["event_type", c.eventType],
    ["old", c.old === undefined ? null : valueJson(c.old)],
    ["new", valueJson(c.value)],
  ]);
  if (c.seq !== undefined) m.set("seq", BigInt(c.seq));
  return m;
}

/** The complete state in effect at `t` (filtered), sorted by component and setting. */
export function formatState(history: SettingsHistory, t: number, state: SettingsState, filter: ShowFilter, format: ShowFormat): string {
  const keep = filterPredicate(filter);
  const clock = new Clock(history);
  const rows: { component: string; setting: string; value: SettingValue; since: number }[] = [];
  for (const [component, fields] of [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const [setting, e] of fields) if (keep(component, setting)) rows.push({ component, setting, value: e.value, since: e.since });
  }
  if (format === "json") {
    return `${stringifyJson(
      new Map<string, JsonValue>([
        ["at", t],
        ["wall_clock", clock.wall(t)],
        ["files", history.files],
        ["source", history.source],
        [
          "settings",
          rows.map(
            (r) =>
              new Map<string, JsonValue>([
                ["component", r.component],
                ["setting", r.setting],
                ["value", valueJson(r.value)],
                ["since", r.since],
              ]),
          ),
        ],
      ]),
    )}\n`;
  }
  if (format === "csv") {
    return csv([["component", "setting", "value", "since"], ...rows.map((r) => [r.component, r.setting, valueText(r.value), fileTimeText(r.since)])]);
  }
  const when = clock.wall(t);
  const head = `settings in effect at ${fileTimeText(t)} s${when ? ` (${when})` : ""}: ${rows.length} setting${rows.length === 1 ? "" : "s"}${t < history.start ? " (before the first recorded value)" : t > history.end ? " (after the end of the recording)" : ""}\n`;
  if (rows.length === 0) return head;
  return (
    head + table([["component", "setting", "value", "since (s)"], ...rows.map((r) => [r.component, r.setting, valueText(r.value), fileTimeText(r.since)])])
  );
}
