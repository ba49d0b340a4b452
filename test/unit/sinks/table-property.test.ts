/**
 * Property: for generated settings trees and INITIAL/sentinel/UPDATED sequences, what pynwb reads
 * back from the typed-column sink's files equals the sanitized values that went in: the same
 * segment files, columns, rows, start/stop times, updated_component, and every cell with its type
 * (int64 exact, float64 bit-exact incl. NaN/-0/inf, UTF-8 text, arrays with dtype and shape; bool
 * as bool or int8 0/1, the documented storage gap).
 *
 * The expected rows come from a small model of the rules (docs/table-sink.md) written here, not
 * from the sink. One Python run reads the whole batch. Cases are sampled with a fixed seed
 * (TABLE_PROPERTY_SEED / TABLE_PROPERTY_RUNS override); a failing case is printed as JSON events.
 */
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent, makeSentinel } from "../../../src/events/event.js";
import { type JsonValue, stringifyJson } from "../../../src/events/json.js";
import { ColumnNamer, flattenComponentSettings } from "../../../src/events/sanitize.js";
import { type CellValue, SettingArray, dtypeOf, shapeOf } from "../../../src/events/settings-values.js";
import { SegmentedOutput } from "../../../src/output/segmented-output.js";
import { TableSink } from "../../../src/sinks/table-sink.js";
import { tempDir } from "./table-read.js";

const PYTHON = resolve(process.env["NWB_SETTINGS_PYTHON"] ?? ".venv/bin/python");
const DUMP = resolve("test/conformance/table_dump.py");
const RUNS = Number(process.env["TABLE_PROPERTY_RUNS"] ?? 60);
const SEED = Number(process.env["TABLE_PROPERTY_SEED"] ?? 20261128);

// ---------------------------------------------------------------------------------------------
// generators
// ---------------------------------------------------------------------------------------------

const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
const smallInt = fc.bigInt(-5n, 5n);
const text = fc.string({ unit: "binary", maxLength: 6 }).filter((s) => !s.includes("\u0000"));
const integralFloat = fc.integer({ min: -3, max: 3 }).map((n) => n + 0.5); // float columns that later get ints
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(int64, smallInt, fc.double(), integralFloat, fc.boolean(), text);
const arr = <T extends JsonValue>(a: fc.Arbitrary<T>, n: number) => fc.array(a, { minLength: n, maxLength: n });
const array: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer({ min: 0, max: 3 }).chain((n) => fc.oneof(arr(smallInt, n), arr(fc.double(), n), arr(fc.boolean(), n), arr(text, n))),
  fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })).chain(([r, c]) => arr(arr(fc.oneof(int64, fc.double()), c), r)),
);
const leaf: fc.Arbitrary<JsonValue> = fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: array });
const key = fc.constantFrom("x", "y", "gain", "b.c", "b");
/** A settings tree: a mapping of up to 3 keys, one level of nesting (an empty one flattens to nothing). */
const node: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(fc.tuple(key, leaf), { maxLength: 2 }).map((es) => new Map(es)) },
);
const tree: fc.Arbitrary<JsonValue> = fc.array(fc.tuple(key, node), { maxLength: 3 }).map((es) => new Map(es));

const component = fc.constantFrom("A", "SYS/B", "a", "a.b");

interface Step {
  kind: "INITIAL" | "UPDATED" | "SENTINEL";
  component: string;
  settings: JsonValue;
  dt: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Step["kind"]>("INITIAL", "UPDATED", "UPDATED", "UPDATED"),
  component,
  settings: tree,
  dt: fc.constantFrom(0, 0.25, 1, 1.5, -0.5), // 0 and a step back in time: merged into the open state
});

/** A startup snapshot (INITIALs, sentinel usually present) then updates; times mostly non-decreasing. */
const scenario = fc
  .record({
    initials: fc.array(fc.record({ component, settings: tree, dt: fc.constantFrom(0, 0.5) }), { maxLength: 3 }),
    sentinel: fc.boolean(),
    updates: fc.array(step, { maxLength: 7 }),
    closeDt: fc.constantFrom(0, 2),
  })
  .map(({ initials, sentinel, updates, closeDt }) => {
    let t = 10;
    let seq = 0;
    const events: PipelineSettingsEvent[] = [];
    const ev = (kind: "INITIAL" | "UPDATED", c: string, s: JsonValue): PipelineSettingsEvent => ({
      seq: ++seq,
      timestamp: t,
      component_address: c,
      event_type: kind,
      repr_value: "",
      structured_value: s,
      source_session_id: null,
      table_name: "settings_annotations",
    });
    for (const i of initials) {
      t += i.dt;
      events.push(ev("INITIAL", i.component, i.settings));
    }
    if (sentinel) events.push(makeSentinel(++seq, t));
    for (const u of updates) {
      t += u.dt;
      events.push(u.kind === "SENTINEL" ? makeSentinel(++seq, t) : ev(u.kind, u.component, u.settings));
    }
    return { events, closeTime: t + closeDt };
  });

// ---------------------------------------------------------------------------------------------
// the model: rows per segment, from the rules
// ---------------------------------------------------------------------------------------------

interface ModelRow {
  start: number;
  stop: number;
  component: string;
  cells: Map<string, CellValue>;
}

function model(events: PipelineSettingsEvent[], closeTime: number): { columns: string[]; rows: ModelRow[] }[] {
  const namer = new ColumnNamer();
  const segments: { columns: string[]; rows: ModelRow[] }[] = [];
  let schema: Map<string, string> | undefined;
  let state = new Map<string, CellValue>();
  let since: number | undefined;
  let opener = "";
  let pending: { state: Map<string, CellValue>; first: number } | undefined;
  const kind = (v: CellValue) => `${dtypeOf(v)}(${shapeOf(v).join(",")})`;
  const last = (): ModelRow | undefined => segments[segments.length - 1]?.rows.at(-1);
  // The open interval is the last row, its stop unknown (NaN) until a later event or the close.
  const openRow = (t: number, c: string) => {
    segments[segments.length - 1]!.rows.push({ start: t, stop: Number.NaN, component: c, cells: new Map(state) });
    since = t;
    opener = c;
  };
  const openSegment = (s: Map<string, CellValue>, t: number, c: string) => {
    schema = new Map([...s].map(([k, v]) => [k, kind(v)]));
    state = new Map(s);
    segments.push({ columns: [...s.keys()], rows: [] });
    openRow(t, c);
  };
  const flushPending = () => {
    if (!pending) return;
    const p = pending;
    pending = undefined;
    openSegment(p.state, p.first, INIT_FINAL_COMPONENT_ADDRESS);
  };
  // A float64 column takes integers within ±2^53 as floats (scalars, and int arrays of its shape).
  const widen = (k: string, v: CellValue): CellValue => {
    const col = schema!.get(k);
    const exact = (n: bigint) => n >= -(2n ** 53n) && n <= 2n ** 53n;
    if (typeof v === "bigint" && col === "float64()" && exact(v)) return Number(v);
    if (v instanceof SettingArray && v.dtype === "int64" && col === `float64(${v.shape.join(",")})` && [...(v.data as BigInt64Array)].every(exact)) {
      return new SettingArray("float64", v.shape, Float64Array.from(v.data as BigInt64Array, Number));
    }
    return v;
  };
  for (const e of events) {
    if (e.component_address === INIT_FINAL_COMPONENT_ADDRESS) {
      flushPending();
      continue;
    }
    const flat = flattenComponentSettings(e.component_address, e.structured_value, namer);
    if (flat.size === 0) continue;
    if (e.event_type === "INITIAL" && !schema) {
      pending ??= { state: new Map(), first: e.timestamp };
      for (const [k, v] of flat) pending.state.set(k, v);
      continue;
    }
    flushPending();
    if (!schema) {
      openSegment(flat, e.timestamp, e.component_address);
      continue;
    }
    for (const [k, v] of flat) flat.set(k, widen(k, v));
    // A change at (or before) the instant the open state began belongs to that state.
    const sameInstant = e.timestamp <= since!;
    const incompatible = [...flat].some(([k, v]) => schema!.get(k) !== kind(v));
    if (incompatible) {
      const merged = new Map([...state, ...flat]);
      const [start, c] = sameInstant ? [since!, opener] : [e.timestamp, e.component_address];
      if (sameInstant) {
        segments[segments.length - 1]!.rows.pop();
        if (segments[segments.length - 1]!.rows.length === 0) segments.pop();
      } else {
        last()!.stop = e.timestamp;
      }
      openSegment(merged, start, c);
      continue;
    }
    for (const [k, v] of flat) state.set(k, v);
    if (sameInstant) {
      last()!.cells = new Map(state);
      continue;
    }
    last()!.stop = e.timestamp;
    openRow(e.timestamp, e.component_address);
  }
  flushPending();
  const end = last();
  if (end) end.stop = closeTime > end.start ? closeTime : Number.NaN;
  return segments;
}

// ---------------------------------------------------------------------------------------------
// comparison with what pynwb read
// ---------------------------------------------------------------------------------------------

type PyCell = { i: string } | { f: string } | { b: boolean } | { s: string } | { a: PyCell[]; shape: number[]; dtype: string };
interface PyTable {
  error?: string;
  colnames: string[];
  dtypes: Record<string, string>;
  ids: number[];
  rows: Record<string, PyCell>[];
}

function pyFloat(s: string): number {
  if (s === "nan") return Number.NaN;
  if (s === "inf") return Number.POSITIVE_INFINITY;
  if (s === "-inf") return Number.NEGATIVE_INFINITY;
  return Number(s);
}

const NUMPY_DTYPE: Record<string, string[]> = { int64: ["int64"], float64: ["float64"], bool: ["bool", "int8"], string: ["object", "<U", "str"] };

/** Why `got` is not the sanitized value `want`; undefined when equal (type included). */
function cellMismatch(want: CellValue, got: PyCell | undefined): string | undefined {
  if (got === undefined) return "missing";
  if (want instanceof SettingArray) {
    if (!("a" in got)) return `expected an array, got ${JSON.stringify(got)}`;
    if (got.shape.join(",") !== want.shape.join(",")) return `shape ${got.shape} != ${want.shape}`;
    if (want.size > 0 && !NUMPY_DTYPE[want.dtype]!.some((d) => got.dtype.startsWith(d))) return `array dtype ${got.dtype} for ${want.dtype}`;
    for (let i = 0; i < want.size; i++) {
      const m = cellMismatch(want.at(i), got.a[i]);
      if (m) return `[${i}]: ${m}`;
    }
    return undefined;
  }
  const show = () => `${JSON.stringify(got)} != ${typeof want === "bigint" ? `${want}n` : JSON.stringify(want)}`;
  switch (typeof want) {
    case "bigint":
      return "i" in got && BigInt(got.i) === want ? undefined : show();
    case "number":
      return "f" in got && Object.is(pyFloat(got.f), want) ? undefined : show();
    case "boolean": // HDF5 bool or int8 0/1 (docs/table-sink.md)
      return ("b" in got && got.b === want) || ("i" in got && got.i === (want ? "1" : "0")) ? undefined : show();
    case "string":
      return "s" in got && got.s === want ? undefined : show();
  }
}

function compare(expected: ReturnType<typeof model>, files: string[], tables: Record<string, PyTable>): string[] {
  const problems: string[] = [];
  if (files.length !== expected.length) problems.push(`${files.length} segment file(s), expected ${expected.length}`);
  for (const [si, seg] of expected.entries()) {
    const t = tables[files[si] ?? ""];
    if (!t) continue;
    if (t.error) {
      problems.push(`segment ${si}: ${t.error}`);
      continue;
    }
    const cols = ["start_time", "stop_time", "updated_component", ...seg.columns];
    if (t.colnames.join("|") !== cols.join("|")) problems.push(`segment ${si}: columns ${JSON.stringify(t.colnames)} != ${JSON.stringify(cols)}`);
    if (t.rows.length !== seg.rows.length) problems.push(`segment ${si}: ${t.rows.length} rows, expected ${seg.rows.length}`);
    if (t.ids.join(",") !== seg.rows.map((_, i) => i).join(",")) problems.push(`segment ${si}: ids ${t.ids}`);
    for (const [ri, want] of seg.rows.entries()) {
      const got = t.rows[ri];
      if (!got) continue;
      const where = `segment ${si} row ${ri}`;
      // No row of zero or negative length; only the very last row may have an unknown end.
      if (!(want.stop > want.start) && !(Number.isNaN(want.stop) && si === expected.length - 1 && ri === seg.rows.length - 1)) {
        problems.push(`${where}: model row [${want.start}, ${want.stop}] is not a positive interval`);
      }
      const times = [
        cellMismatch(want.start, got["start_time"]),
        cellMismatch(want.stop, got["stop_time"]),
        cellMismatch(want.component, got["updated_component"]),
      ];
      for (const [k, m] of times.entries()) if (m) problems.push(`${where} ${cols[k]}: ${m}`);
      for (const [c, v] of want.cells) {
        const m = cellMismatch(v, got[c]);
        if (m) problems.push(`${where} ${c}: ${m}`);
      }
    }
    for (const [c, v] of seg.rows[0]?.cells ?? []) {
      if (!(v instanceof SettingArray) && !NUMPY_DTYPE[dtypeOf(v)]!.includes(t.dtypes[c] ?? ""))
        problems.push(`segment ${si} ${c}: dtype ${t.dtypes[c]} for ${dtypeOf(v)}`);
    }
  }
  return problems;
}

function describeCase(events: PipelineSettingsEvent[], closeTime: number): string {
  const evs = events.map((e) => `${e.timestamp} ${e.event_type} ${e.component_address} ${stringifyJson(e.structured_value)}`);
  return [...evs, `close ${closeTime}`].join("\n");
}

describe("TableSink property: pynwb reads back the sanitized values that went in", () => {
  it(`${RUNS} generated scenarios (seed ${SEED})`, { timeout: 300_000 }, async () => {
    const cases = fc.sample(scenario, { seed: SEED, numRuns: RUNS });
    const dir = tempDir("table-prop-");
    const written: { files: string[]; expected: ReturnType<typeof model>; events: PipelineSettingsEvent[]; closeTime: number }[] = [];
    for (const [i, c] of cases.entries()) {
      const output = new SegmentedOutput(join(dir, `case${i}.nwb`), { session_description: "property" });
      const sink = new TableSink(output);
      for (const e of c.events) await sink.write(e);
      await sink.close(c.closeTime);
      await output.close();
      written.push({ files: output.writtenSegments.map((s) => s.path), expected: model(c.events, c.closeTime), ...c });
    }
    const all = written.flatMap((w) => w.files);
    const tables = JSON.parse(execFileSync(PYTHON, [DUMP], { input: all.join("\n"), maxBuffer: 1 << 28, encoding: "utf8" })) as Record<string, PyTable>;
    const failures: string[] = [];
    written.forEach((w, i) => {
      const problems = compare(w.expected, w.files, tables);
      if (problems.length > 0) failures.push(`case ${i}:\n${describeCase(w.events, w.closeTime)}\n  ${problems.slice(0, 8).join("\n  ")}`);
    });
    expect(failures.slice(0, 3).join("\n\n")).toBe("");
    // The generator must actually reach the interesting paths.
    expect(written.filter((w) => w.expected.length > 1).length).toBeGreaterThan(0);
    expect(written.filter((w) => w.expected.length === 0).length).toBeGreaterThan(0);
  });
});
