/**
 * The JSONL entry point (`convert`) against every hostile case of #5 that applies to JSON
 * (cases.ts): each line is either written faithfully or rejected as `FILE:LINE: problem`, a canary
 * event between every two hostile lines always reaches the file, nothing throws, and every file
 * stays readable (equal column lengths). Run once with the JSON-row sink and once with both sinks.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ConvertResult, convertLog } from "../../../src/app/convert/convert-log.js";
import { countRows } from "../../../src/app/recover/recover.js";
import type { SinkName } from "../../../src/sinks/sink-set.js";
import { settingsPayload } from "../../../src/events/event.js";
import { eventFromJson } from "../../../src/events/event-codec.js";
import { type JsonValue, isJsonObject, parseJson, stringifyJson } from "../../../src/events/json.js";
import { h5wasm, loadHdf5 } from "../../../src/nwb/hdf5/h5wasm.js";
import { CASES, type HostileCase, canary } from "./cases.js";

/** Give a line its own seq and timestamp (every case line starts with the default ones). */
function numbered(line: string | Buffer, n: number): Buffer {
  const b = Buffer.isBuffer(line) ? line : Buffer.from(line, "utf8");
  const prefix = Buffer.from('{"seq": 1, "timestamp": 1.0');
  if (b.subarray(0, prefix.length).equals(prefix)) return Buffer.concat([Buffer.from(`{"seq": ${n}, "timestamp": ${n}.0`), b.subarray(prefix.length)]);
  return b;
}

interface Built {
  log: string;
  /** line number → case (hostile lines) or canary index. */
  lines: Map<number, { kase?: HostileCase; canary?: number; seq: number; text: Buffer }>;
}

function buildLog(dir: string, cases: HostileCase[]): Built {
  const parts: Buffer[] = [];
  const lines: Built["lines"] = new Map();
  let n = 0;
  const add = (text: Buffer, info: { kase?: HostileCase; canary?: number }) => {
    n++;
    lines.set(n, { ...info, seq: n, text });
    parts.push(text, Buffer.from("\n"));
  };
  add(numbered(canary(0), 1), { canary: 0 });
  cases.forEach((c, i) => {
    add(numbered(c.line, n + 1), { kase: c });
    add(numbered(canary(i + 1), n + 1), { canary: i + 1 });
  });
  const log = join(dir, "hostile.jsonl");
  writeFileSync(log, Buffer.concat(parts));
  return { log, lines };
}

async function readAnnotationRows(paths: string[]): Promise<Map<bigint, string[]>> {
  await loadHdf5();
  const bySeq = new Map<bigint, string[]>();
  for (const p of paths) {
    const f = new h5wasm.File(p, "r");
    try {
      const acq = f.get("acquisition") as InstanceType<typeof h5wasm.Group>;
      for (const name of acq.keys()) {
        const data = (f.get(`acquisition/${name}/data`) as InstanceType<typeof h5wasm.Dataset>).value as string[];
        for (const text of data) {
          const row = parseJson(text) as Map<string, JsonValue>;
          const seq = row.get("seq") as bigint;
          bySeq.set(seq, [...(bySeq.get(seq) ?? []), stringifyJson(row.get("settings")!)]);
        }
      }
    } finally {
      f.close();
    }
  }
  return bySeq;
}

async function check(cases: HostileCase[], sinks: SinkName[], outcome: (c: HostileCase) => HostileCase["annotations"]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hostile-"));
  const built = buildLog(dir, cases);
  let result: ConvertResult;
  try {
    result = await convertLog(built.log, join(dir, "out.nwb"), { sinks, timeOrigin: "raw", meta: { session_description: "hostile" }, overwrite: false });
  } catch (err) {
    throw new Error(`convert threw instead of reporting: ${(err as Error).message}`);
  }
  const problems = new Map<number, string>();
  for (const p of result.problems) {
    const m = /^(.*):(\d+): (.*)$/s.exec(p);
    expect(m, `problem without FILE:LINE: ${p.slice(0, 200)}`).not.toBeNull();
    expect(m![1]).toBe(built.log);
    expect(problems.has(Number(m![2])), `two problems for line ${m![2]}`).toBe(false);
    problems.set(Number(m![2]), m![3]!);
  }
  const rows = await readAnnotationRows(result.outputs);
  const failures: string[] = [];
  for (const [line, info] of built.lines) {
    const problem = problems.get(line);
    const got = rows.get(BigInt(info.seq)) ?? [];
    if (info.canary !== undefined) {
      if (problem || got.length !== 1) failures.push(`canary ${info.canary} (line ${line}) lost: ${problem ?? `${got.length} rows`}`);
      continue;
    }
    const c = info.kase!;
    const want = outcome(c);
    if (want instanceof RegExp) {
      if (!problem || !want.test(problem))
        failures.push(`${c.name} (line ${line}): expected rejection ${want}, got ${problem ? JSON.stringify(problem.slice(0, 200)) : "none"}`);
      if (got.length > 0) failures.push(`${c.name}: rejected but written`);
    } else if (want === "ignore") {
      if (problem || got.length > 0) failures.push(`${c.name}: expected to be ignored`);
    } else {
      if (problem) failures.push(`${c.name} (line ${line}): expected accepted, got ${JSON.stringify(problem.slice(0, 300))}`);
      else if (got.length !== 1) failures.push(`${c.name}: ${got.length} rows`);
      else {
        const ev = eventFromJson(parseJson(info.text.toString("utf8")));
        const expected = stringifyJson(settingsPayload(ev));
        if (got[0] !== expected) failures.push(`${c.name}: row settings differ: ${got[0]!.slice(0, 120)} vs ${expected.slice(0, 120)}`);
      }
    }
  }
  expect(failures).toEqual([]);
  // Every file is readable: each series and table has columns of equal length.
  for (const out of result.outputs) expect((await countRows(out)).problems).toEqual([]);
  expect(result.events).toBe([...built.lines.values()].filter((l) => l.canary !== undefined || outcome(l.kase!) === "accept").length);
}

const small = CASES.filter((c) => !c.big);
const big = CASES.filter((c) => c.big);

describe("hostile JSONL lines at the convert entry point", () => {
  it(
    "annotations: each case written faithfully or rejected as FILE:LINE, canaries all kept",
    () => check(small, ["annotations"], (c) => c.annotations),
    120_000,
  );
  it("annotations+table: the same, an event is written by both sinks or by none", () => check(small, ["annotations", "table"], (c) => c.both), 180_000);
  it.each(big.map((c) => [c.name, c] as const))("10 MB: %s (both sinks)", (_n, c) => check([c], ["annotations", "table"], (k) => k.both), 180_000);
});

describe("hostile case table", () => {
  it("has distinct names and covers every item of #5 that applies to JSON", () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const names = CASES.map((c) => c.name).join("\n");
    for (const topic of [
      /truncated object/,
      /seq as text/,
      /missing seq/,
      /DELETED/,
      /NaN/,
      /past int64/,
      /1,000-deep/,
      /10 MB/,
      /lone surrogate/,
      /with \/ \. and spaces/,
      /empty component/,
      /colliding/,
      /settings: a number/,
      /invalid UTF-8/,
      /NUL/,
    ]) {
      expect(names).toMatch(topic);
    }
    expect(isJsonObject(new Map())).toBe(true);
  });
});
