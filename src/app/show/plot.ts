/**
 * `show --plot`: the settings of a recording over time as one picture (SVG, or PNG from it).
 *
 * One lane per setting, all on one time axis: numeric settings (int, float) as step lines, text,
 * bool and array settings as labelled bands (one colour per value), every change marked by a tick
 * at the lane's foot, and — when the files hold neural data (a TimeSeries/ElectricalSeries in
 * /acquisition) — a strip of it above the lanes (per channel, the min–max envelope of each
 * pixel column, read decimated through src/nwb/series-reader.ts).
 *
 * Drawn with Vega (a declarative grammar whose View renders SVG headless in Node, no browser or
 * canvas needed); PNG through resvg (a Rust SVG renderer, prebuilt for each platform). The Vega
 * spec names its marks, so the SVG has structure a test can check: a group `lane-<i>` per setting
 * (top to bottom) holding `label-<i>`, `step-<i>` (one step path) or `band-<i>` (rects), and
 * `change-<i>` (one path of ticks `M x,y V y2` per change), and a group `strip` for the data.
 */
import { writeFile } from "node:fs/promises";
import { stringifyJson } from "../../events/json.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { type Envelope, type SeriesInfo, acquisitionSeries, readEnvelope } from "../../nwb/series-reader.js";
import type { SettingChange, SettingValue, SettingsHistory } from "./settings-history.js";
import { type ShowFilter, filterPredicate, valueJson } from "./show-format.js";
import { formatWallClock, parseIsoTime } from "./wall-clock.js";

/** Geometry of the picture (pixels); exported so tests can compute where a time must be drawn. */
export const PLOT_LAYOUT = {
  /** Width of the time axis. */
  plotWidth: 1100,
  /** Left column with the lane labels. */
  labelWidth: 330,
  /** Right column with each lane's last value. */
  rightWidth: 110,
  laneHeight: 30,
  laneGap: 2,
  top: 84,
  bottom: 46,
  stripChannelHeight: 34,
  font: "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif",
};

export interface PlotOptions {
  filter?: ShowFilter;
  /** Draw a data strip when the files have one (default true). */
  strip?: boolean;
  /** Mark this file time with a dashed line across all lanes (`show --at T --plot`). */
  at?: number;
}

export interface PlotResult {
  lanes: number;
  changes: number;
  /** The data series drawn, if any. */
  strip?: string;
  /** The time axis: file time `t0` is drawn at x = 0 of the lanes, `t1` at `plotWidth`. */
  t0: number;
  t1: number;
  /** Per lane (top to bottom): component, setting, how it is drawn. */
  laneList: { component: string; setting: string; style: "step" | "band" }[];
  svg: string;
}

interface Lane {
  component: string;
  setting: string;
  style: "step" | "band";
  changes: SettingChange[];
}

/** Min and max of numbers (no spread: lanes can have millions of changes). */
function extent(values: Iterable<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * More points than this per lane are drawn per pixel column (its first, lowest, highest and last
 * value; for bands, a grey band where several values follow within one column; one tick per
 * column), so a lane of a million changes stays a small picture.
 */
const DENSE = 1100;

const numeric = (v: SettingValue): boolean => typeof v === "number" || typeof v === "bigint";

function textOf(v: SettingValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  return stringifyJson(valueJson(v));
}

function numberOf(v: SettingValue): number {
  return typeof v === "bigint" ? Number(v) : (v as number);
}

/** The lanes: every setting the filter keeps, grouped by component (first-appearance order). */
function lanesOf(history: SettingsHistory, filter: ShowFilter): Lane[] {
  const keep = filterPredicate(filter);
  const byKey = new Map<string, Lane>();
  const components: string[] = [];
  for (const c of history.changes) {
    if (!keep(c.component, c.setting)) continue;
    const key = `${c.component}\u0000${c.setting}`;
    let lane = byKey.get(key);
    if (!lane) {
      lane = { component: c.component, setting: c.setting, style: "step", changes: [] };
      byKey.set(key, lane);
      if (!components.includes(c.component)) components.push(c.component);
    }
    lane.changes.push(c);
  }
  for (const lane of byKey.values()) {
    lane.style = lane.changes.every((c) => numeric(c.value)) ? "step" : "band";
  }
  const lanes = [...byKey.values()];
  return lanes.sort((a, b) => components.indexOf(a.component) - components.indexOf(b.component));
}

/** The time axis: from the first change (or file time 0, when values set before it are older) to the end. */
function timeDomain(history: SettingsHistory, lanes: Lane[], series: SeriesInfo[]): [number, number] {
  const [first, last] = extent(lanes.flatMap((l) => l.changes.map((c) => c.time)));
  let t0 = Number.isFinite(first) ? first : history.start;
  let t1 = Math.max(history.end, last);
  for (const s of series) {
    if (Number.isFinite(s.start)) t0 = Math.min(t0, s.start);
    if (Number.isFinite(s.end)) t1 = Math.max(t1, s.end);
  }
  // A startup snapshot carries each component's last-change time, which may lie long before the
  // recording: the axis starts at file time 0 then, and such values are drawn from there.
  const [firstUpdate] = extent(lanes.flatMap((l) => l.changes.filter((c) => c.eventType !== "INITIAL").map((c) => c.time)));
  if (t0 < 0 && firstUpdate >= 0) t0 = 0;
  if (!(t1 > t0)) t1 = t0 + 1;
  return [t0, t1];
}

/** About 10 axis ticks at round times: seconds for short spans, whole minutes/hours for long ones. */
function tickValues(t0: number, t1: number, clock: boolean): number[] {
  const span = t1 - t0;
  const steps = clock
    ? [60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
    : [1e-6, 2e-6, 5e-6].flatMap((b) => Array.from({ length: 12 }, (_, k) => b * 10 ** k));
  const step = steps.sort((a, b) => a - b).find((st) => span / st <= 12) ?? span / 10;
  const out: number[] = [];
  for (let v = Math.ceil(t0 / step) * step; v <= t1 + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const BAND_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const BOOL_COLORS: Record<string, string> = { true: "#59a14f", false: "#d3d3d3" };

function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return n.toExponential(2);
  return String(Number(n.toPrecision(6)));
}

/** Label text that fits `px` pixels of 11 px text (about 6.3 px per character), else "". */
function fitText(text: string, px: number): string {
  const chars = Math.floor((px - 6) / 6.3);
  if (chars < 2) return "";
  return text.length <= chars ? text : `${text.slice(0, Math.max(1, chars - 1))}…`;
}

function laneMarks(lane: Lane, index: number, y: number, x: (t: number) => number, t0: number, t1: number): object {
  const L = PLOT_LAYOUT;
  const h = L.laneHeight;
  const font = L.font;
  const visible = lane.changes.filter((c) => c.time <= t1);
  const last = visible.at(-1)?.value;
  const marks: object[] = [
    {
      type: "rect",
      encode: {
        enter: { x: { value: 0 }, x2: { value: L.plotWidth }, y: { value: 0 }, y2: { value: h }, fill: { value: index % 2 === 0 ? "#f7f7f7" : "#ffffff" } },
      },
    },
    {
      type: "text",
      encode: {
        enter: {
          x: { value: -L.labelWidth + 6 },
          y: { value: lane.style === "step" ? h / 2 - 4 : h / 2 },
          text: { value: fitText(lane.component, L.labelWidth * 0.45) },
          baseline: { value: "middle" },
          fill: { value: "#777" },
          font: { value: font },
          fontSize: { value: 11 },
        },
      },
    },
    {
      type: "text",
      name: `label-${index}`,
      description: `${lane.component} ${lane.setting}`,
      encode: {
        enter: {
          x: { value: -8 },
          y: { value: lane.style === "step" ? h / 2 - 4 : h / 2 },
          text: { value: fitText(lane.setting, L.labelWidth * 0.55 - 8) },
          align: { value: "right" },
          baseline: { value: "middle" },
          fill: { value: "#111" },
          font: { value: font },
          fontSize: { value: 12 },
          fontWeight: { value: "bold" },
        },
      },
    },
    {
      type: "text",
      encode: {
        enter: {
          x: { value: L.plotWidth + 6 },
          y: { value: h / 2 },
          text: {
            value: last === undefined ? "" : fitText(numeric(last) ? fmtNumber(numberOf(last)) : textOf(last), L.rightWidth - 6),
          },
          baseline: { value: "middle" },
          fill: { value: "#333" },
          font: { value: font },
          fontSize: { value: 11 },
        },
      },
    },
  ];
  if (lane.style === "step") {
    const [vmin, vmax] = extent(visible.map((c) => numberOf(c.value)).filter(Number.isFinite));
    let lo = Number.isFinite(vmin) ? vmin : 0;
    let hi = Number.isFinite(vmax) ? vmax : 1;
    if (lo === hi) {
      lo -= Math.abs(lo) * 0.1 || 1;
      hi += Math.abs(hi) * 0.1 || 1;
    }
    const sy = (v: number): number => h - 5 - ((v - lo) / (hi - lo)) * (h - 10);
    // Step-after: each value holds until the next change; the last holds to the end of the axis.
    let points = visible.map((c) => ({ x: x(Math.max(c.time, t0)), y: Number.isFinite(numberOf(c.value)) ? sy(numberOf(c.value)) : Number.NaN }));
    if (points.length > DENSE) points = perColumn(points);
    if (visible.length > 0) points.push({ x: x(t1), y: points.at(-1)!.y });
    // One path item per lane (a Vega line has one scene item per point: slow for dense lanes).
    marks.push({
      type: "path",
      name: `step-${index}`,
      encode: { enter: { x: { value: 0 }, y: { value: 0 }, path: { value: stepPath(points) }, stroke: { value: "#1f5fa8" }, strokeWidth: { value: 1.6 } } },
    });
    marks.push({
      type: "text",
      encode: {
        enter: {
          x: { value: -8 },
          y: { value: h - 1 },
          text: {
            value: `${fmtNumber(vmin)} … ${fmtNumber(vmax)}`,
          },
          align: { value: "right" },
          baseline: { value: "bottom" },
          fill: { value: "#999" },
          font: { value: font },
          fontSize: { value: 8 },
        },
      },
    });
    return { group: marks, y };
  }
  // Bands: one rect per interval during which the value held, coloured per value, labelled when wide enough.
  const colors = new Map<string, string>();
  let bands = visible.map((c, i) => {
    const text = textOf(c.value);
    if (!colors.has(text)) colors.set(text, BOOL_COLORS[text] ?? BAND_COLORS[colors.size % BAND_COLORS.length]!);
    const xa = x(Math.max(c.time, t0));
    const xb = x(i + 1 < visible.length ? visible[i + 1]!.time : t1);
    return { x: xa, x2: xb, fill: colors.get(text)!, label: fitText(text, xb - xa) };
  });
  if (bands.length > DENSE) bands = mergeDenseBands(bands);
  marks.push({
    type: "rect",
    name: `band-${index}`,
    from: { data: `lane${index}` },
    encode: {
      enter: {
        x: { field: "x" },
        x2: { field: "x2" },
        y: { value: 3 },
        y2: { value: h - 5 },
        fill: { field: "fill" },
        fillOpacity: { value: 0.55 },
        stroke: { value: "#ffffff" },
        strokeWidth: { value: 0.5 },
      },
    },
  });
  marks.push({
    type: "text",
    from: { data: `labels${index}` },
    encode: {
      enter: {
        x: { signal: "datum.x + 3" },
        y: { value: h / 2 - 1 },
        text: { field: "label" },
        baseline: { value: "middle" },
        fill: { value: "#111" },
        font: { value: font },
        fontSize: { value: 11 },
      },
    },
  });
  return { group: marks, data: { name: `lane${index}`, values: bands }, labels: { name: `labels${index}`, values: bands.filter((b) => b.label !== "") }, y };
}

const r3 = (v: number): string => String(Math.round(v * 1000) / 1000);

/** Step-after path through the points: each value holds until the next; a non-finite value is a gap. */
function stepPath(points: { x: number; y: number }[]): string {
  const parts: string[] = [];
  let prevY = Number.NaN;
  for (const p of points) {
    if (!Number.isFinite(p.y)) {
      prevY = Number.NaN;
      continue;
    }
    if (Number.isFinite(prevY)) parts.push(`L${r3(p.x)},${r3(prevY)}`, `L${r3(p.x)},${r3(p.y)}`);
    else parts.push(`M${r3(p.x)},${r3(p.y)}`);
    prevY = p.y;
  }
  return parts.join("");
}

/** A step line's points reduced to four per pixel column: first, lowest, highest, last. */
function perColumn(points: { x: number; y: number }[]): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < points.length; ) {
    const col = Math.floor(points[i]!.x);
    let j = i;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    while (j < points.length && Math.floor(points[j]!.x) === col) {
      const y = points[j]!.y;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
      j++;
    }
    const x0 = points[i]!.x;
    out.push(points[i]!);
    if (j - i > 1) {
      if (Number.isFinite(lo)) out.push({ x: x0, y: lo }, { x: x0, y: hi });
      out.push({ x: x0, y: points[j - 1]!.y });
    }
    i = j;
  }
  return out;
}

interface Band {
  x: number;
  x2: number;
  fill: string;
  label: string;
}

/** Bands where several start within one pixel column become one grey band ("many changes"). */
function mergeDenseBands(bands: Band[]): Band[] {
  const out: Band[] = [];
  for (let i = 0; i < bands.length; ) {
    const col = Math.floor(bands[i]!.x);
    let j = i;
    while (j < bands.length && Math.floor(bands[j]!.x) === col) j++;
    if (j - i === 1) out.push(bands[i]!);
    else {
      const lastInColumn = bands[j - 1]!;
      const prev = out.at(-1);
      if (prev && prev.fill === "#777777" && prev.x2 >= bands[i]!.x) prev.x2 = lastInColumn.x;
      else out.push({ x: bands[i]!.x, x2: lastInColumn.x, fill: "#777777", label: "" });
      out.push(lastInColumn);
    }
    i = j;
  }
  return out;
}

/** One tick per pixel column when a lane has more changes than DENSE. */
function tickXs(xs: number[]): number[] {
  if (xs.length <= DENSE) return xs;
  const out: number[] = [];
  for (const v of xs) if (out.length === 0 || Math.floor(out.at(-1)!) !== Math.floor(v)) out.push(v);
  return out;
}

/** Build the Vega spec and render the SVG. */
export async function renderPlot(history: SettingsHistory, options: PlotOptions = {}): Promise<PlotResult> {
  const L = PLOT_LAYOUT;
  const lanes = lanesOf(history, options.filter ?? {});
  // The data strip: the first data series in /acquisition (continued in later segments by name).
  const strip = options.strip === false ? undefined : await readStrip(history.files);
  const [t0, t1] = timeDomain(history, lanes, strip?.series ?? []);
  const x = (t: number): number => ((t - t0) / (t1 - t0)) * L.plotWidth;
  const channels = strip?.envelope.channels.length ?? 0;
  const stripHeight = channels > 0 ? channels * L.stripChannelHeight + 10 : 0;
  const lanesTop = stripHeight;
  const height = lanesTop + lanes.length * (L.laneHeight + L.laneGap);
  const ref = parseIsoTime(history.referenceTime);
  const long = t1 - t0 > 300;
  const tickLabel = long
    ? "floor(datum.value/3600) + ':' + (floor(datum.value%3600/60) < 10 ? '0' : '') + floor(datum.value%3600/60) + ':' + (floor(datum.value%60) < 10 ? '0' : '') + floor(datum.value%60)"
    : "format(datum.value, '~g')";
  const ticks = tickValues(t0, t1, long);
  const data: object[] = [];
  const marks: object[] = [];
  if (strip && channels > 0) {
    const env = strip.envelope;
    const rows: object[] = [];
    env.channels.forEach((ch, c) => {
      const lo = env.min[c]!;
      const hi = env.max[c]!;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (let b = 0; b < lo.length; b++) {
        if (Number.isFinite(lo[b]!)) min = Math.min(min, lo[b]!);
        if (Number.isFinite(hi[b]!)) max = Math.max(max, hi[b]!);
      }
      if (!(max > min)) {
        min -= 1;
        max += 1;
      }
      const top = c * L.stripChannelHeight + 2;
      const sy = (v: number): number => top + (L.stripChannelHeight - 4) * (1 - (v - min) / (max - min));
      for (let b = 0; b < lo.length; b++) {
        rows.push({
          ch,
          x: x(env.t0 + (b + 0.5) * env.binWidth),
          y: Number.isFinite(hi[b]!) ? sy(hi[b]!) : Number.NaN,
          y2: Number.isFinite(lo[b]!) ? sy(lo[b]!) : Number.NaN,
        });
      }
    });
    data.push({ name: "strip-data", values: rows });
    const s = strip.series[0]!;
    marks.push({
      type: "group",
      name: "strip",
      encode: { enter: { x: { value: 0 }, y: { value: 0 }, width: { value: L.plotWidth }, height: { value: stripHeight - 10 }, fill: { value: "#fbfbfb" } } },
      marks: [
        {
          type: "group",
          from: { facet: { name: "channel", data: "strip-data", groupby: "ch" } },
          marks: [
            {
              type: "area",
              from: { data: "channel" },
              encode: {
                enter: {
                  x: { field: "x" },
                  y: { field: "y" },
                  y2: { field: "y2" },
                  defined: { signal: "isFinite(datum.y) && isFinite(datum.y2)" },
                  fill: { value: "#444" },
                  stroke: { value: "#444" },
                  strokeWidth: { value: 0.6 },
                },
              },
            },
          ],
        },
        {
          type: "text",
          encode: {
            enter: {
              x: { value: -8 },
              y: { value: (stripHeight - 10) / 2 },
              text: { value: fitText(`${s.name} (${s.neurodataType})`, L.labelWidth - 12) },
              align: { value: "right" },
              baseline: { value: "middle" },
              fill: { value: "#111" },
              font: { value: L.font },
              fontSize: { value: 12 },
              fontWeight: { value: "bold" },
            },
          },
        },
        {
          type: "text",
          encode: {
            enter: {
              x: { value: -8 },
              y: { value: (stripHeight - 10) / 2 + 14 },
              text: { value: fitText(`channels ${env.channels.join(", ")} of ${s.channels}, ${s.unit}, min–max per pixel`, L.labelWidth - 12) },
              align: { value: "right" },
              baseline: { value: "middle" },
              fill: { value: "#777" },
              font: { value: L.font },
              fontSize: { value: 10 },
            },
          },
        },
      ],
    });
  }
  let changeCount = 0;
  lanes.forEach((lane, i) => {
    const y = lanesTop + i * (L.laneHeight + L.laneGap);
    const built = laneMarks(lane, i, y, x, t0, t1) as { group: object[]; data?: object; labels?: object };
    if (built.data) data.push(built.data);
    if (built.labels) data.push(built.labels);
    const ticks = tickXs(lane.changes.filter((c) => c.time >= t0 && c.time <= t1).map((c) => x(c.time))).map((v) => ({ x: v }));
    changeCount += lane.changes.length;
    marks.push({
      type: "group",
      name: `lane-${i}`,
      description: `${lane.component} ${lane.setting}`,
      encode: { enter: { x: { value: 0 }, y: { value: y }, width: { value: L.plotWidth }, height: { value: L.laneHeight } } },
      marks: [
        ...built.group,
        {
          type: "path",
          name: `change-${i}`,
          encode: {
            enter: {
              x: { value: 0 },
              y: { value: 0 },
              path: { value: ticks.map((tk) => `M${r3(tk.x)},${L.laneHeight - 4}V${L.laneHeight}`).join("") },
              stroke: { value: "#c0392b" },
              strokeWidth: { value: 1 },
            },
          },
        },
      ],
    });
  });
  if (options.at !== undefined && options.at >= t0 && options.at <= t1) {
    const ax = x(options.at);
    marks.push({
      type: "rule",
      name: "at-marker",
      encode: {
        enter: {
          x: { value: ax },
          y: { value: -34 },
          y2: { value: height },
          stroke: { value: "#000" },
          strokeWidth: { value: 1.2 },
          strokeDash: { value: [5, 3] },
        },
      },
    });
    marks.push({
      type: "text",
      encode: {
        enter: {
          x: { value: ax + 4 },
          y: { value: -24 },
          text: { value: `at ${fmtNumber(options.at)} s${ref ? ` (${formatWallClock(options.at, ref)})` : ""}` },
          baseline: { value: "bottom" },
          fill: { value: "#000" },
          font: { value: L.font },
          fontSize: { value: 11 },
          fontWeight: { value: "bold" },
        },
      },
    });
  }
  const title = `${history.files.map((f) => f.slice(f.lastIndexOf("/") + 1)).join(", ")} — ${lanes.length} setting${lanes.length === 1 ? "" : "s"}, ${changeCount} change${changeCount === 1 ? "" : "s"}`;
  const subtitle = `time axis: file time (${long ? "h:mm:ss" : "s"}) from ${ref ? formatWallClock(0, ref, true) : history.referenceTime}${ref ? ` (UTC${ref.offsetMinutes >= 0 ? "+" : "-"}${String(Math.floor(Math.abs(ref.offsetMinutes) / 60)).padStart(2, "0")}:${String(Math.abs(ref.offsetMinutes) % 60).padStart(2, "0")})` : ""}; red ticks: changes`;
  const axis = (orient: "top" | "bottom"): object => ({
    orient,
    scale: "x",
    values: ticks,
    encode: { labels: { update: { text: { signal: tickLabel } } } },
    labelFont: L.font,
    labelFontSize: 11,
    grid: orient === "bottom",
    gridColor: "#e2e2e2",
    gridOpacity: 0.5,
    domainColor: "#888",
    tickColor: "#888",
    zindex: 1,
  });
  const spec = {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    description: title,
    width: L.plotWidth,
    height,
    autosize: "none",
    padding: { left: L.labelWidth, top: L.top + (options.at !== undefined ? 22 : 0), right: L.rightWidth, bottom: L.bottom },
    background: "white",
    title: { text: title, subtitle, anchor: "start", offset: 26, font: L.font, subtitleFont: L.font, fontSize: 14, subtitleFontSize: 11, frame: "group" },
    data,
    scales: [{ name: "x", type: "linear", domain: [t0, t1], range: [0, L.plotWidth], zero: false, nice: false }],
    axes: [axis("top"), axis("bottom")],
    marks,
  };
  const vega = await import("vega");
  const view = new vega.View(vega.parse(spec as never), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return {
    lanes: lanes.length,
    changes: changeCount,
    ...(strip ? { strip: strip.series[0]!.path } : {}),
    t0,
    t1,
    laneList: lanes.map((l) => ({ component: l.component, setting: l.setting, style: l.style })),
    svg,
  };
}

/** The first data series of the recording's files, and its decimated envelope across segments. */
async function readStrip(files: readonly string[]): Promise<{ series: SeriesInfo[]; envelope: Envelope } | undefined> {
  const readers: NwbFileReader[] = [];
  try {
    const found: { reader: NwbFileReader; s: SeriesInfo }[] = [];
    for (const f of files) {
      const r = await NwbFileReader.open(f);
      readers.push(r);
      for (const s of acquisitionSeries(r)) found.push({ reader: r, s });
    }
    if (found.length === 0) return undefined;
    // Prefer an ElectricalSeries; a stream continued in a new series is `<name>_2`, `<name>_3`, …
    const first = found.find((x) => x.s.neurodataType === "ElectricalSeries") ?? found[0]!;
    const base = first.s.name.replace(/_\d+$/, "");
    const same = found.filter((x) => x.s.name === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_\\d+$`).test(x.s.name));
    const starts = same.map((x) => x.s.start).filter(Number.isFinite);
    const ends = same.map((x) => x.s.end).filter(Number.isFinite);
    if (starts.length === 0) return undefined;
    const t0 = extent(starts)[0];
    const t1 = Math.max(extent(ends)[1], t0 + 1e-9);
    const buckets = PLOT_LAYOUT.plotWidth;
    let merged: Envelope | undefined;
    for (const { reader, s } of same) {
      const env = readEnvelope(reader, s, { t0, t1, buckets, maxChannels: 4 });
      if (!merged) {
        merged = env;
        continue;
      }
      for (let c = 0; c < Math.min(merged.channels.length, env.channels.length); c++) {
        for (let b = 0; b < buckets; b++) {
          const lo = env.min[c]![b]!;
          const hi = env.max[c]![b]!;
          if (Number.isFinite(lo) && !(merged.min[c]![b]! <= lo)) merged.min[c]![b] = lo;
          if (Number.isFinite(hi) && !(merged.max[c]![b]! >= hi)) merged.max[c]![b] = hi;
        }
      }
    }
    return { series: same.map((x) => x.s), envelope: merged! };
  } finally {
    for (const r of readers) r.close();
  }
}

/** Render and write the picture: `.svg` as it is, `.png` rendered from it. */
export async function writePlot(history: SettingsHistory, out: string, options: PlotOptions = {}): Promise<PlotResult> {
  const result = await renderPlot(history, options);
  if (/\.png$/i.test(out)) await writeFile(out, await svgToPng(result.svg));
  else await writeFile(out, result.svg);
  return result;
}

/** PNG of an SVG (system fonts; DejaVu Sans preferred), at 1.5× for sharp text. */
export async function svgToPng(svg: string, zoom = 1.5): Promise<Buffer> {
  const { Resvg } = await import("@resvg/resvg-js");
  const r = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: zoom },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}
