/**
 * `show --at` against an independent model of the events: generated logs (seeded) are converted
 * with both sinks into rotated segments, and the state the files give at every change instant,
 * just before and just after it, must equal the state the model computes from the log's events.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertLog } from "../../../../src/app/convert/convert-log.js";
import { NoSettingsError, readSettingsHistory, type SettingsHistory, type SettingsState } from "../../../../src/app/show/settings-history.js";
import { formatState, formatTimeline } from "../../../../src/app/show/show-format.js";
import { NwbFile } from "../../../../src/nwb/nwb-file.js";
import type { JsonValue } from "../../../../src/events/json.js";

/** A float in the generated log: always written with a fraction, so it stays a float. */
class F {
  constructor(readonly v: number) {}
}
type V = F | number | string | boolean | V[] | { [k: string]: V };

/** JSON text of a generated value (ints as integers, F as floats with 3 decimals). */
function ser(v: V): string {
  if (v instanceof F) return v.v.toFixed(3);
  if (typeof v === "number") return String(v);
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(ser).join(", ")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}: ${ser(x)}`)
    .join(", ")}}`;
}

/** The model's value of one flattened setting: its kind and plain value. */
type ModelValue = { kind: string; value: unknown };

function modelValue(v: V): ModelValue {
  if (v instanceof F) return { kind: "float", value: Number(v.v.toFixed(3)) };
  if (typeof v === "number") return { kind: "int", value: v };
  if (typeof v === "string") return { kind: "str", value: v };
  if (typeof v === "boolean") return { kind: "bool", value: v };
  if (Array.isArray(v)) return { kind: "array", value: v.map((x) => modelValue(x).value) };
  throw new Error("objects are flattened");
}

/** Flatten a settings object into dotted paths (keys here never contain "."). */
function flatten(v: { [k: string]: V }, prefix = ""): [string, V][] {
  const out: [string, V][] = [];
  for (const [k, x] of Object.entries(v)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof F)) out.push(...flatten(x, p));
    else out.push([p, x]);
  }
  return out;
}

interface GenEvent {
  seq: number;
  t: number;
  component: string;
  type: "INITIAL" | "UPDATED";
  settings: { [k: string]: V } | null;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A log: three components' startup snapshot at distinct times, the sentinel, then `n` updates
 * (some at the same instant, some partial). Midway an int setting takes a fraction (the table
 * rotates: int64 -> float64) and a new component appears (new columns: another rotation).
 */
function generateLog(seed: number, n: number): GenEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const full: Record<string, () => { [k: string]: V }> = {
    "SYS/FILTER": () => ({
      cutoff: new F(Math.round(r() * 100000) / 1000),
      order: 1 + Math.floor(r() * 8),
      kind: pick(["butter", "cheby", "bessel"]),
      enabled: r() < 0.5,
      band: { lo: new F(Math.round(r() * 1000) / 1000), hi: new F(Math.round(r() * 9000) / 1000) },
    }),
    "SYS/GAIN": () => ({ gain: new F(Math.round(r() * 10000) / 1000), taps: [new F(1), new F(Math.round(r() * 1000) / 1000), new F(0.25)] }),
    DECODER: () => ({ model: pick(["kalman", "wiener", "linear"]), smoothing: new F(Math.round(r() * 1000) / 1000), lag: Math.floor(r() * 5) }),
  };
  const events: GenEvent[] = [];
  let seq = 0;
  let t = 100;
  for (const c of Object.keys(full)) {
    events.push({ seq: seq++, t, component: c, type: "INITIAL", settings: full[c]!() });
    t = Number((t + 0.001).toFixed(3));
  }
  events.push({ seq: seq++, t, component: "__init_final__", type: "INITIAL", settings: null });
  const comps = Object.keys(full);
  for (let i = 0; i < n; i++) {
    t = Number((t + pick([0, 0, 0.001, 0.002, 0.01, 0.05, 0.5])).toFixed(3));
    if (i === Math.floor(n / 3)) {
      events.push({ seq: seq++, t, component: "SYS/FILTER", type: "UPDATED", settings: { order: new F(2.5) } });
      continue;
    }
    if (i === Math.floor((2 * n) / 3)) {
      comps.push("LATE/STIM");
      full["LATE/STIM"] = () => ({ amplitude: new F(Math.round(r() * 1000) / 1000), on: r() < 0.5 });
    }
    const c = pick(comps);
    const all = full[c]!();
    // order became a float at n/3: it stays one from then on
    if (c === "SYS/FILTER" && i > n / 3) all["order"] = new F(1 + Math.floor(r() * 8) + 0.5);
    const keys = Object.keys(all);
    const partial = r() < 0.4 ? Object.fromEntries(keys.filter(() => r() < 0.5).map((k) => [k, all[k]!])) : all;
    events.push({ seq: seq++, t, component: c, type: "UPDATED", settings: Object.keys(partial).length > 0 ? partial : all });
  }
  return events;
}

function logText(events: GenEvent[]): string {
  return events
    .map(
      (e) =>
        `{"seq": ${e.seq}, "timestamp": ${e.t.toFixed(3)}, "component_address": ${JSON.stringify(e.component)}, "event_type": "${e.type}", ` +
        `"repr_value": "", "structured_value": ${e.settings === null ? "null" : ser(e.settings)}, "source_session_id": null, "table_name": "settings_annotations"}`,
    )
    .join("\n")
    .concat("\n");
}

type ModelState = Map<string, Map<string, ModelValue>>;

/**
 * The model: the state at T is, per setting, the value of the last event (in time order) at or
 * before T that sent it. `initialsAtFirst`: the typed table merges the startup snapshot into one
 * state that starts at the first INITIAL's time (docs/table-sink.md), so INITIALs count from there.
 */
function modelStateAt(events: GenEvent[], T: number, initialsAtFirst: boolean): ModelState {
  const firstInitial = events.find((e) => e.type === "INITIAL")!.t;
  const state: ModelState = new Map();
  const ordered = events
    .filter((e) => e.settings !== null)
    .map((e) => ({ e, at: initialsAtFirst && e.type === "INITIAL" ? firstInitial : e.t }))
    .sort((a, b) => a.at - b.at || a.e.seq - b.e.seq);
  for (const { e, at } of ordered) {
    if (at > T) break;
    const byField = state.get(e.component) ?? new Map<string, ModelValue>();
    state.set(e.component, byField);
    for (const [k, v] of flatten(e.settings!)) byField.set(k, modelValue(v));
  }
  return state;
}

function fromCell(v: JsonValue): ModelValue {
  const plain = (x: JsonValue): unknown => (typeof x === "bigint" ? Number(x) : Array.isArray(x) ? x.map(plain) : x);
  if (Array.isArray(v)) return { kind: "array", value: plain(v) };
  if (typeof v === "bigint") return { kind: "int", value: Number(v) };
  if (typeof v === "number") return { kind: "float", value: v };
  if (typeof v === "string") return { kind: "str", value: v };
  return { kind: "bool", value: v };
}

function shownState(s: SettingsState): ModelState {
  return new Map([...s].map(([c, fields]) => [c, new Map([...fields].map(([k, e]) => [k, fromCell(e.value)]))]));
}

/** Every change instant, 1 µs before and after, before the first and after the last. */
function queryTimes(events: GenEvent[]): number[] {
  const instants = [...new Set(events.map((e) => e.t))].sort((a, b) => a - b);
  const out = [instants[0]! - 1];
  for (const t of instants) out.push(t - 1e-6, t, t + 1e-6);
  out.push(instants.at(-1)! + 10);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "show-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function convert(name: string, events: GenEvent[], sinks: ("annotations" | "table")[]): Promise<string> {
  const log = join(dir, `${name}.jsonl`);
  await writeFile(log, logText(events));
  const out = join(dir, `${name}.nwb`);
  const r = await convertLog(log, out, { sinks, timeOrigin: "raw", meta: { session_description: "show test" }, overwrite: false });
  expect(r.outputs.length).toBeGreaterThan(0);
  return out;
}

describe("show --at against a model of the events", () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: both sinks, rotated segments; JSON rows and typed table each agree with the model at every change instant ±1 µs`, async () => {
      const events = generateLog(seed, 60);
      const out = await convert(`both${seed}`, events, ["annotations", "table"]);
      const files = (await readdir(dir)).filter((f) => f.startsWith(`both${seed}`) && f.endsWith(".nwb"));
      expect(files.length).toBeGreaterThanOrEqual(3); // two rotations: int -> float, new component
      const fromRows = await readSettingsHistory([out], { source: "annotations" });
      const fromTable = await readSettingsHistory([out], { source: "table" });
      expect(fromRows.files.length).toBe(files.length);
      expect(fromTable.files.length).toBe(files.length);
      for (const T of queryTimes(events)) {
        expect(shownState(fromRows.stateAt(T)), `annotations at ${T}`).toEqual(modelStateAt(events, T, false));
        expect(shownState(fromTable.stateAt(T)), `table at ${T}`).toEqual(modelStateAt(events, T, true));
      }
    });
  }

  it("a table-only recording given as its segments in any order reads the same as its first file", async () => {
    const events = generateLog(7, 40);
    const out = await convert("tableonly", events, ["table"]);
    const segs = (await readdir(dir)).filter((f) => f.startsWith("tableonly") && f.endsWith(".nwb")).map((f) => join(dir, f));
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const auto = await readSettingsHistory([out]);
    expect(auto.source).toBe("table");
    const reversed = await readSettingsHistory([...segs].reverse());
    expect(reversed.changes.map((c) => [c.time, c.component, c.setting])).toEqual(auto.changes.map((c) => [c.time, c.component, c.setting]));
    for (const T of queryTimes(events)) expect(shownState(auto.stateAt(T))).toEqual(modelStateAt(events, T, true));
  });

  it("the timeline lists each change once with its old value, and only real changes", async () => {
    const events = generateLog(11, 30);
    const out = await convert("timeline", events, ["annotations"]);
    const h = await readSettingsHistory([out]);
    // Independent: walk the model event by event and list (t, component, setting, old, new) where a value changes.
    const expected: unknown[] = [];
    const cur = new Map<string, ModelValue>();
    for (const e of events.filter((x) => x.settings !== null).sort((a, b) => a.t - b.t || a.seq - b.seq)) {
      for (const [k, v] of flatten(e.settings!)) {
        const key = `${e.component}|${k}`;
        const mv = modelValue(v);
        const old = cur.get(key);
        if (old && JSON.stringify(old) === JSON.stringify(mv)) continue;
        cur.set(key, mv);
        expected.push([e.t, e.component, k, old ?? null, mv]);
      }
    }
    expect(h.changes.map((c) => [c.time, c.component, c.setting, c.old === undefined ? null : fromCell(c.old), fromCell(c.value)])).toEqual(expected);
  });
});

describe("show output", () => {
  let history: SettingsHistory;
  beforeAll(async () => {
    history = await readSettingsHistory([await convert("fmt", generateLog(5, 10), ["annotations", "table"])]);
  });

  it("filters by component and setting globs, in every format", () => {
    const text = formatTimeline(history, { components: ["SYS/*"], settings: ["cut*"] }, "text");
    const lines = text.trim().split("\n").slice(2);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/SYS\/FILTER\s+cutoff\s/);
    const csv = formatTimeline(history, { settings: ["band.*"] }, "csv")
      .trim()
      .split("\n");
    expect(csv[0]).toBe("time,wall_clock,component,setting,event_type,old,new");
    for (const l of csv.slice(1)) expect(l).toMatch(/,SYS\/FILTER,band\.(lo|hi),(INITIAL|UPDATED),/);
    const json = JSON.parse(formatState(history, 200, history.stateAt(200), { components: ["DECODER"] }, "json"));
    expect(json.at).toBe(200);
    expect(json.settings.map((s: { setting: string }) => s.setting).sort()).toEqual(["lag", "model", "smoothing"]);
  });

  it("values keep their type in text: int, float, text and bool differ", () => {
    const text = formatState(history, 200, history.stateAt(200), { components: ["SYS/FILTER"] }, "text");
    expect(text).toMatch(/cutoff\s+\d+\.\d+/);
    expect(text).toMatch(/kind\s+"(butter|cheby|bessel)"/);
    expect(text).toMatch(/enabled\s+(true|false)/);
  });

  it("a file without settings is a wrong call naming what was looked for", async () => {
    const empty = join(dir, "empty.nwb");
    (await NwbFile.create(empty, { session_description: "nothing of ours" })).close();
    await expect(readSettingsHistory([empty])).rejects.toThrow(NoSettingsError);
    await expect(readSettingsHistory([empty])).rejects.toThrow(
      /looked for an AnnotationSeries of JSON settings rows .* or a TimeIntervals table with an "updated_component" column/,
    );
  });
});

describe("nwb-settings show (command line)", () => {
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const { main } = await import("../../../../src/cli/main.js");
    let out = "";
    let err = "";
    const o = process.stdout.write.bind(process.stdout);
    const e = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => {
      out += s;
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => {
      err += s;
      return true;
    }) as typeof process.stderr.write;
    try {
      const code = await main(args);
      return { code, out, err };
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
  }

  it("exits 2 on a file without settings, naming what it looked for; 0 with --at on a recording", async () => {
    const empty = join(dir, "empty-cli.nwb");
    (await NwbFile.create(empty, { session_description: "nothing of ours" })).close();
    const bad = await run(["show", empty]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no pipeline settings in .*empty-cli\.nwb: looked for an AnnotationSeries/);
    const out = await convert("cli", generateLog(9, 10), ["table"]);
    const ok = await run(["show", out, "--at", "100.0025", "--format", "csv", "--component", "DECODER"]);
    expect(ok.code).toBe(0);
    expect(ok.out.split("\n")[0]).toBe("component,setting,value,since");
    expect(ok.out.trim().split("\n").length).toBe(4);
    expect((await run(["show", out, "--at", "soon"])).code).toBe(2);
    expect((await run(["show", out, "--plot", "x.gif"])).code).toBe(2);
  });
});
