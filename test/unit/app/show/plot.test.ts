/**
 * `show --plot`: a known recording (a converted log plus a data series) is drawn, and the SVG's
 * structure is read back: one lane per setting, labelled; every change drawn (step, band edge,
 * tick) within a pixel of where its time falls on the axis; the data strip on the same axis. The
 * 50-setting, two-hour case is drawn too, as SVG and PNG.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertLog } from "../../../../src/app/convert/convert-log.js";
import { PLOT_LAYOUT, renderPlot, writePlot } from "../../../../src/app/show/plot.js";
import { readSettingsHistory } from "../../../../src/app/show/settings-history.js";
import { NwbFile } from "../../../../src/nwb/nwb-file.js";
import { TimeSeriesWriter } from "../../../../src/nwb/time-series.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plot-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Ev {
  t: number;
  c: string;
  s: string; // structured_value JSON
  type?: "INITIAL" | "UPDATED";
}

async function convert(name: string, events: Ev[]): Promise<string> {
  const lines = events.map(
    (e, i) =>
      `{"seq": ${i}, "timestamp": ${e.t}, "component_address": ${JSON.stringify(e.c)}, "event_type": "${e.type ?? "UPDATED"}", "structured_value": ${e.s}}`,
  );
  const log = join(dir, `${name}.jsonl`);
  await writeFile(log, `${lines.join("\n")}\n`);
  const out = join(dir, `${name}.nwb`);
  await convertLog(log, out, { sinks: ["annotations", "table"], timeOrigin: "raw", meta: { session_description: "plot test" }, overwrite: false });
  return out;
}

/** The SVG text of lane i (up to the next lane). */
function laneSvg(svg: string, i: number): string {
  const start = svg.indexOf(`role-scope lane-${i}"`);
  expect(start, `lane-${i}`).toBeGreaterThan(0);
  const next = svg.indexOf(`role-scope lane-${i + 1}"`);
  return svg.slice(start, next < 0 ? undefined : next);
}

function markSvg(lane: string, name: string): string | undefined {
  const at = lane.indexOf(`role-mark ${name}"`);
  if (at < 0) return undefined;
  const end = lane.indexOf("</g>", at);
  return lane.slice(at, end);
}

/** x of every vertical jump of a step path ("M x,y L x,y …"). */
function stepJumps(d: string): number[] {
  const pts = [...d.matchAll(/[ML]\s*(-?[\d.e+-]+)\s*,\s*(-?[\d.e+-]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const jumps: number[] = [];
  for (let i = 1; i < pts.length; i++) if (pts[i]![0] === pts[i - 1]![0] && pts[i]![1] !== pts[i - 1]![1]) jumps.push(pts[i]![0]);
  return jumps;
}

function expectNear(actual: number[], expected: number[], what: string): void {
  expect(actual.length, `${what}: ${actual} vs ${expected}`).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(Math.abs(a - expected[i]!), `${what} #${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(1);
  });
}

describe("show --plot", () => {
  // Known: filter cutoff (float) and order (int) step, kind (text) and enabled (bool) bands.
  const events: Ev[] = [
    { t: 10, c: "SYS/FILTER", s: '{"cutoff": 30.0, "order": 4, "kind": "butter", "enabled": true}', type: "INITIAL" },
    { t: 10, c: "SYS/GAIN", s: '{"gain": 1.5}', type: "INITIAL" },
    { t: 10, c: "__init_final__", s: "null", type: "INITIAL" },
    { t: 12.5, c: "SYS/FILTER", s: '{"cutoff": 40.0, "order": 4, "kind": "butter", "enabled": true}' },
    { t: 20, c: "SYS/GAIN", s: '{"gain": 0.5}' },
    { t: 31.25, c: "SYS/FILTER", s: '{"cutoff": 40.0, "order": 2, "kind": "cheby", "enabled": false}' },
    { t: 47, c: "SYS/FILTER", s: '{"cutoff": 35.5, "order": 2, "kind": "cheby", "enabled": true}' },
    { t: 60, c: "SYS/GAIN", s: '{"gain": 2.0}' },
  ];
  // When each setting takes a new value (the model).
  const changeTimes: Record<string, number[]> = {
    cutoff: [10, 12.5, 47],
    order: [10, 31.25],
    kind: [10, 31.25],
    enabled: [10, 31.25, 47],
    gain: [10, 20, 60],
  };
  let path: string;
  beforeAll(async () => {
    path = await convert("known", events);
    // A data series on the same clock: 1 kHz, 2 channels, from 5 s to 65 s.
    const nwb = await NwbFile.open(path);
    const w = TimeSeriesWriter.create(nwb, {
      name: "lfp",
      description: "test signal",
      type: "float32",
      sampleShape: [2],
      unit: "volts",
      regular: { startingTime: 5, rate: 1000 },
    });
    const n = 60_000;
    const data = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      data[2 * i] = Math.sin(i / 50);
      data[2 * i + 1] = i < n / 2 ? 0 : 1;
    }
    w.append(new Uint8Array(data.buffer), n);
    nwb.close();
  });

  it("draws one labelled lane per setting, each change within a pixel of its time, and the data strip on the same axis", async () => {
    const history = await readSettingsHistory([path]);
    const r = await renderPlot(history);
    const { svg } = r;
    expect(r.t0).toBe(5); // the data starts before the settings
    expect(r.t1).toBeCloseTo(64.999, 6);
    const x = (t: number): number => ((t - r.t0) / (r.t1 - r.t0)) * PLOT_LAYOUT.plotWidth;
    const lanes = [...svg.matchAll(/role-scope lane-(\d+)"/g)].map((m) => Number(m[1]));
    expect(lanes).toEqual([0, 1, 2, 3, 4]);
    const seen: string[] = [];
    for (const i of lanes) {
      const lane = laneSvg(svg, i);
      const label = /role-mark label-\d+"[^>]*>\s*<text[^>]*>([^<]*)<\/text>/.exec(lane)?.[1];
      expect(label).toBeDefined();
      seen.push(label!);
      const expected = changeTimes[label!]!;
      // Ticks: one per change, at its time.
      const ticks = [...(markSvg(lane, `change-${i}`) ?? "").matchAll(/M(-?[\d.]+),/g)].map((m) => Number(m[1]));
      expectNear(ticks, expected.map(x), `${label} ticks`);
      const step = markSvg(lane, `step-${i}`);
      const band = markSvg(lane, `band-${i}`);
      if (["cutoff", "order", "gain"].includes(label!)) {
        expect(step, `${label} is a step line`).toBeDefined();
        expect(band).toBeUndefined();
        const d = /<path[^>]* d="([^"]+)"/.exec(step!)![1]!;
        expectNear(stepJumps(d), expected.slice(1).map(x), `${label} steps`);
      } else {
        expect(band, `${label} is drawn as bands`).toBeDefined();
        expect(step).toBeUndefined();
        const starts = [...band!.matchAll(/<path d="M(-?[\d.]+),/g)].map((m) => Number(m[1]));
        expectNear(starts, expected.map(x), `${label} bands`);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(changeTimes).sort());
    // The strip: an envelope per channel spanning the data's time range.
    const strip = svg.slice(svg.indexOf('role-scope strip"'), svg.indexOf("role-scope lane-0"));
    const areas = [...strip.matchAll(/<path d="M(-?[\d.]+),[^"]*"/g)];
    expect(areas.length).toBe(2);
    for (const a of areas) {
      const xs = [...a[0].matchAll(/[ML](-?[\d.]+),/g)].map((m) => Number(m[1]));
      expect(Math.min(...xs)).toBeLessThanOrEqual(1);
      expect(Math.max(...xs)).toBeGreaterThanOrEqual(PLOT_LAYOUT.plotWidth - 1);
    }
    expect(svg).toContain("lfp (TimeSeries)");
  });

  it("filters lanes like the timeline and writes a PNG", async () => {
    const history = await readSettingsHistory([path]);
    const out = join(dir, "known.png");
    const r = await writePlot(history, out, { filter: { settings: ["gain", "kind"] } });
    expect(r.laneList.map((l) => l.setting)).toEqual(["kind", "gain"]);
    const png = await readFile(out);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.readUInt32BE(16)).toBe(Math.round((PLOT_LAYOUT.labelWidth + PLOT_LAYOUT.plotWidth + PLOT_LAYOUT.rightWidth) * 1.5));
  });

  it("50 settings over two hours: 50 lanes, every change at its time", async () => {
    // 10 components x 5 settings (float, int, text, bool, float), changing every 1-10 minutes.
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const comps = Array.from({ length: 10 }, (_, i) => `RIG/STAGE_${i}`);
    const state = (k: number): string =>
      `{"gain": ${(rand() * 10).toFixed(2)}, "order": ${1 + Math.floor(rand() * 8)}, "mode": "${["fast", "slow", "off"][Math.floor(rand() * 3)]}", "enabled": ${rand() < 0.5}, "threshold_uv": ${(k * 10 + rand()).toFixed(3)}}`;
    const evs: Ev[] = comps.map((c) => ({ t: 0, c, s: state(1), type: "INITIAL" as const }));
    evs.push({ t: 0, c: "__init_final__", s: "null", type: "INITIAL" });
    const timeline: { t: number; c: string }[] = [];
    for (const c of comps) for (let t = 60 + rand() * 540; t < 7200; t += 60 + rand() * 540) timeline.push({ t: Math.round(t * 1000) / 1000, c });
    timeline.sort((a, b) => a.t - b.t);
    for (const e of timeline) evs.push({ t: e.t, c: e.c, s: state(Math.floor(e.t)) });
    evs.push({ t: 7200, c: comps[0]!, s: state(7200) });
    const big = await convert("twohours", evs);
    const history = await readSettingsHistory([big]);
    const svgOut = join(dir, "twohours.svg");
    const r = await writePlot(history, svgOut);
    expect(r.lanes).toBe(50);
    expect([...r.svg.matchAll(/role-scope lane-(\d+)"/g)].length).toBe(50);
    const x = (t: number): number => ((t - r.t0) / (r.t1 - r.t0)) * PLOT_LAYOUT.plotWidth;
    // every lane's ticks are at its changes
    r.laneList.forEach((l, i) => {
      const times = history.changes.filter((c) => c.component === l.component && c.setting === l.setting).map((c) => c.time);
      const ticks = [...(markSvg(laneSvg(r.svg, i), `change-${i}`) ?? "").matchAll(/M(-?[\d.]+),/g)].map((m) => Number(m[1]));
      expectNear(ticks, times.map(x), `${l.component} ${l.setting}`);
    });
    const png = join(dir, "twohours.png");
    await writePlot(history, png);
    if (process.env["NWB_SETTINGS_PLOT_OUT"]) await writeFile(process.env["NWB_SETTINGS_PLOT_OUT"], await readFile(png));
    expect((await readFile(png)).length).toBeGreaterThan(50_000);
  });

  it("a lane with 6,000 changes is drawn per pixel column; --at is marked where T falls", async () => {
    const evs: Ev[] = [{ t: 0, c: "FAST", s: '{"level": 0.0, "state": "a"}', type: "INITIAL" }];
    for (let i = 1; i <= 6_000; i++) evs.push({ t: i / 100, c: "FAST", s: `{"level": ${(Math.sin(i / 300) * 10).toFixed(3)}, "state": "${"abc"[i % 3]}"}` });
    const history = await readSettingsHistory([await convert("dense", evs)]);
    const r = await renderPlot(history, { at: 50 });
    const x = (t: number): number => ((t - r.t0) / (r.t1 - r.t0)) * PLOT_LAYOUT.plotWidth;
    let levelChanges = 1;
    for (let i = 1; i <= 6_000; i++)
      if ((Math.sin(i / 300) * 10).toFixed(3) !== (i === 1 ? "0.000" : (Math.sin((i - 1) / 300) * 10).toFixed(3))) levelChanges++;
    expect(r.changes).toBe(levelChanges + 6_001);
    expect(r.svg.length).toBeLessThan(1_500_000);
    for (let i = 0; i < 2; i++) {
      const ticks = [...(markSvg(laneSvg(r.svg, i), `change-${i}`) ?? "").matchAll(/M(-?[\d.]+),/g)];
      expect(ticks.length).toBeLessThanOrEqual(PLOT_LAYOUT.plotWidth + 1);
      expect(ticks.length).toBeGreaterThan(PLOT_LAYOUT.plotWidth - 5);
    }
    // the step line still reaches the extremes (±10 → the lane's top and bottom)
    const d = /<path[^>]* d="([^"]+)"/.exec(markSvg(laneSvg(r.svg, 0), "step-0")!)![1]!;
    const ys = [...d.matchAll(/[ML]\s*-?[\d.e+-]+\s*,\s*(-?[\d.e+-]+)/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBeCloseTo(5, 0);
    expect(Math.max(...ys)).toBeCloseTo(PLOT_LAYOUT.laneHeight - 5, 0);
    const marker = /role-mark at-marker"[^>]*>\s*<line transform="translate\((-?[\d.]+),/.exec(r.svg);
    expect(Math.abs(Number(marker![1]) - x(50))).toBeLessThanOrEqual(1);
  });
});
