/**
 * restore's plan (field by field against the live settings, shaped by the live object's types) and
 * its flow (dry run sends nothing; failures and changes that never show are reported), against a
 * scripted target. The real-pipeline test is test/conformance/test_restore.py.
 */
import { describe, expect, it } from "vitest";
import type { SettingsState } from "../../../../src/app/restore/file-state.js";
import { type LiveComponent, planRestore, sameValue } from "../../../../src/app/restore/plan.js";
import { type ApplyOutcome, type RestoreTarget, restore } from "../../../../src/app/restore/restore.js";
import type { ComponentPlan } from "../../../../src/app/restore/plan.js";
import { type JsonValue, jsonObject } from "../../../../src/events/json.js";
import { PickleClassRef, PickleEnum, PickleObject, type PickleValue } from "../../../../src/ezmsg/pickle-values.js";
import { PyTuple } from "../../../../src/ezmsg/pickle-writer.js";

function dataclass(name: string, fields: Record<string, PickleValue>): PickleObject {
  const o = new PickleObject(new PickleClassRef("__main__", name), "newobj", [], null);
  o.state = new Map<PickleValue, PickleValue>(Object.entries(fields));
  return o;
}

function state(at: number, components: Record<string, JsonValue>): SettingsState {
  return {
    at,
    referenceTime: "2026-01-01T00:00:00+00:00",
    files: ["x.nwb"],
    first: 0,
    last: 10,
    components: new Map(Object.entries(components).map(([k, v]) => [k, { component: k, settings: v, time: 1, seq: 1, source: "x.nwb" }])),
  };
}

const liveTaps: PickleValue[] = [0.5, 0.25];
const tuples = new WeakSet<object>([liveTaps]);
const liveFilt = dataclass("FiltSettings", {
  gain: 3.5,
  order: 7n,
  taps: liveTaps,
  mode: dataclass("Mode", {}),
  spec: dataclass("Spec", { order: 6n, cutoff_hz: 12.5, kind: "bandpass" }),
  extra: new Map<PickleValue, PickleValue>([["z", 9n]]),
  kind: new PickleEnum(new PickleClassRef("ezmsg.core.graphmeta", "SettingsEventType"), "INITIAL_SETTINGS", "INITIAL_SETTINGS"),
  label: "x",
});
const live = new Map<string, LiveComponent>([
  [
    "RIG/FILT",
    {
      structured: jsonObject({
        gain: 3.5,
        order: 7n,
        taps: [0.5, 0.25],
        mode: "fast",
        spec: jsonObject({ order: 6n, cutoff_hz: 12.5, kind: "bandpass" }),
        extra: jsonObject({ z: 9n }),
        kind: "INITIAL_SETTINGS",
        label: "x",
        added_later: true,
      }),
      object: liveFilt,
      tuples,
    },
  ],
  ["RIG/NEW", { structured: jsonObject({ a: 1n }) }],
  ["RIG/REPR", { structured: jsonObject({ a: 1n }) }],
  ["RIG/BARE", { structured: jsonObject({ gain: 2.0, spec: jsonObject({ order: 1n }) }) }],
]);

describe("restore plan", () => {
  const plan = planRestore(
    state(5, {
      "RIG/FILT": jsonObject({
        gain: 2n, // a JSON publisher's 2 for 2.0: the live field is a float
        order: 5n,
        taps: [0.1, 0.2],
        mode: "slow",
        spec: jsonObject({ order: 4n, cutoff_hz: 12.5, kind: "lowpass" }),
        extra: jsonObject({ a: 2n, b: 3n }),
        kind: "SETTINGS_UPDATED",
        label: "x",
        removed_since: 1n,
      }),
      "RIG/GONE": jsonObject({ a: 1n }),
      "RIG/REPR": "Settings(<object at 0x1>)",
      "RIG/BARE": jsonObject({ gain: 2n, spec: jsonObject({ order: 2n }) }),
    }),
    live,
  );
  const filt = plan.components.find((c) => c.component === "RIG/FILT")!;
  const byPath = new Map(filt.fields.map((f) => [f.path, f]));

  it("changes plain fields with the live object's types (tuple stays tuple, a recorded 2 for a float field is 2.0)", () => {
    expect(byPath.get("gain")).toMatchObject({ kind: "change", value: 2.0 });
    expect(typeof (byPath.get("gain") as { value: unknown }).value).toBe("number");
    expect(byPath.get("order")).toMatchObject({ kind: "change", value: 5n });
    const taps = byPath.get("taps") as { kind: string; value: unknown };
    expect(taps.kind).toBe("change");
    expect(taps.value).toBeInstanceOf(PyTuple);
    expect((taps.value as PyTuple).items).toEqual([0.1, 0.2]);
  });

  it("walks a nested dataclass with dotted paths and sends a dict whole", () => {
    expect(byPath.get("spec.order")).toMatchObject({ kind: "change", value: 4n });
    expect(byPath.get("spec.kind")).toMatchObject({ kind: "change", value: "lowpass" });
    expect(byPath.get("spec.cutoff_hz")).toMatchObject({ kind: "match" });
    expect(byPath.has("spec")).toBe(false);
    expect(byPath.get("extra")).toMatchObject({ kind: "change" });
    expect((byPath.get("extra") as { value: unknown }).value).toEqual(
      new Map([
        ["a", 2n],
        ["b", 3n],
      ]),
    );
  });

  it("does not set a field that is not a plain value in the pipeline, or no longer exists", () => {
    expect(byPath.get("mode")).toMatchObject({ kind: "cannot", from: "fast", to: "slow" });
    expect((byPath.get("mode") as { reason: string }).reason).toMatch(/mode is a __main__.Mode object in the pipeline, not a plain value/);
    expect((byPath.get("kind") as { reason: string }).reason).toMatch(/an enum \(ezmsg.core.graphmeta.SettingsEventType\)/);
    expect(byPath.get("removed_since")).toMatchObject({ kind: "cannot", reason: "the pipeline's settings have no such field" });
    expect(byPath.get("label")).toMatchObject({ kind: "match", value: "x" });
    expect(filt.extraFields).toEqual(["added_later"]);
  });

  it("reports components gone, recorded only as a repr, and live ones the file has no state for", () => {
    expect(plan.components.map((c) => [c.component, c.status])).toEqual([
      ["RIG/FILT", "present"],
      ["RIG/GONE", "gone"],
      ["RIG/REPR", "unreadable"],
      ["RIG/BARE", "present"],
    ]);
    expect(plan.notInFile).toEqual(["RIG/NEW"]);
  });

  it("without a live object, walks dicts by dotted path and sends values as recorded", () => {
    const bare = plan.components.find((c) => c.component === "RIG/BARE")!;
    expect(bare.fields).toEqual([
      { path: "gain", kind: "change", from: 2.0, to: 2n, value: 2n },
      { path: "spec.order", kind: "change", from: 1n, to: 2n, value: 2n },
    ]);
  });

  it("compares as Python does: int is not float, NaN equals NaN, key order does not matter", () => {
    expect(sameValue(2n, 2.0)).toBe(false);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
    expect(sameValue(0, -0)).toBe(true); // as Python: 0.0 == -0.0
    expect(sameValue(jsonObject({ a: 1n, b: 2n }), jsonObject({ b: 2n, a: 1n }))).toBe(true);
    expect(sameValue([1n], [1n, 2n])).toBe(false);
    expect(sameValue(true, 1n)).toBe(false);
  });
});

/** A target that applies changes to its own state, or refuses / swallows them as scripted. */
class ScriptedTarget implements RestoreTarget {
  readonly description = "scripted://";
  readonly sent: string[] = [];
  closed = false;
  constructor(
    private readonly settings: Map<string, Map<string, JsonValue>>,
    private readonly behaviour: (component: string, path: string) => "apply" | "refuse" | "swallow",
  ) {}
  async live(): Promise<Map<string, LiveComponent>> {
    return new Map([...this.settings].map(([k, v]) => [k, { structured: new Map(v) }]));
  }
  async apply(c: ComponentPlan): Promise<Map<string, ApplyOutcome>> {
    const out = new Map<string, ApplyOutcome>();
    for (const f of c.fields) {
      if (f.kind !== "change") continue;
      this.sent.push(`${c.component}:${f.path}`);
      const b = this.behaviour(c.component, f.path);
      if (b === "refuse") out.set(f.path, { ok: false, error: "ezmsg HANDLER_ERROR: no" });
      else {
        if (b === "apply") this.settings.get(c.component)!.set(f.path, f.to);
        out.set(f.path, { ok: true });
      }
    }
    return out;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe("restore flow", () => {
  const recorded = state(3, { A: jsonObject({ x: 1n, y: "b", z: 2.5 }) });
  const reader = { stateAt: async () => recorded };
  const fresh = (): Map<string, Map<string, JsonValue>> => new Map([["A", jsonObject({ x: 5n, y: "a", z: 2.5 })]]);

  it("a dry run plans and sends nothing", async () => {
    const target = new ScriptedTarget(fresh(), () => "apply");
    const r = await restore("x.nwb", { at: 3, to: "", dryRun: true, reader, target });
    expect(target.sent).toEqual([]);
    expect(target.closed).toBe(true);
    expect(r.counts).toMatchObject({ planned: 2, changed: 0, matched: 1 });
    expect(r.complete).toBe(true);
  });

  it("applies, then checks the live settings: changed", async () => {
    const target = new ScriptedTarget(fresh(), () => "apply");
    const r = await restore("x.nwb", { at: 3, to: "", reader, target, verifyTimeoutMs: 500 });
    expect(target.sent).toEqual(["A:x", "A:y"]);
    expect(r.counts).toMatchObject({ changed: 2, matched: 1, failed: 0, notApplied: 0 });
    expect(r.complete).toBe(true);
  });

  it("reports a refused change as failed and an acknowledged change that never shows as not applied", async () => {
    const target = new ScriptedTarget(fresh(), (_c, p) => (p === "x" ? "refuse" : "swallow"));
    const r = await restore("x.nwb", { at: 3, to: "", reader, target, verifyTimeoutMs: 300 });
    expect(r.outcomes.get("A")!.get("x")).toEqual({ status: "failed", error: "ezmsg HANDLER_ERROR: no" });
    expect(r.outcomes.get("A")!.get("y")!.status).toBe("not-applied");
    expect(r.complete).toBe(false);
  });

  it("refuses a --to it cannot use before reading anything (exit 2)", async () => {
    let read = false;
    const spy = {
      stateAt: async () => {
        read = true;
        return recorded;
      },
    };
    await expect(restore("x.nwb", { at: 3, to: "http://h:1", reader: spy })).rejects.toMatchObject({ code: "ERR_USAGE" });
    await expect(restore("x.nwb", { at: 3, to: "ezmsg://h:0", reader: spy })).rejects.toMatchObject({ code: "ERR_USAGE" });
    expect(read).toBe(false);
  });
});
