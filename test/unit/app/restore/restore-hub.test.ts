/**
 * restore --to ws://: the hub's `apply` message over real sockets. A publisher that honours apply
 * (by publishing the settings it is given) ends with the recorded state; one that ignores it is
 * reported as not applied; a component nobody publishes any more is reported gone; a dry run
 * delivers nothing. The hub refuses apply for unknown and in-process components.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SettingsState } from "../../../../src/app/restore/file-state.js";
import { restore } from "../../../../src/app/restore/restore.js";
import { type JsonObject, type JsonValue, jsonObject } from "../../../../src/events/json.js";
import { HubPublisher, HubReader, HubServer } from "../../../../src/producer/hub/index.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function state(components: Record<string, JsonValue>): SettingsState {
  return {
    at: 2,
    referenceTime: "2026-01-01T00:00:00+00:00",
    files: ["r.nwb"],
    first: 0,
    last: 9,
    components: new Map(Object.entries(components).map(([k, v]) => [k, { component: k, settings: v, time: 1, seq: 1, source: "r.nwb" }])),
  };
}

async function setup(): Promise<{ hub: HubServer; applied: [string, JsonObject][] }> {
  const hub = await HubServer.start({ port: 0, onLog: () => {} });
  closers.push(() => hub.close());
  const obedient = await HubPublisher.connect(hub.url);
  closers.push(() => obedient.close());
  const deaf = await HubPublisher.connect(hub.url);
  closers.push(() => deaf.close());
  await obedient.register("RIG/GAIN", jsonObject({ gain: 3.5, mode: "fast", spec: jsonObject({ order: 6n, kind: "bp" }), since: true }));
  await deaf.register("RIG/DEAF", jsonObject({ v: 5n }));
  const applied: [string, JsonObject][] = [];
  obedient.onApply((component, settings) => {
    applied.push([component, settings]);
    void obedient.update(component, settings);
  });
  deaf.onApply((component, settings) => applied.push([component, settings]));
  return { hub, applied };
}

const recorded = state({
  "RIG/GAIN": jsonObject({ gain: 2.0, mode: "slow", spec: jsonObject({ order: 4n, kind: "bp" }) }),
  "RIG/DEAF": jsonObject({ v: 1n }),
  "RIG/GONE": jsonObject({ a: 1n }),
});
const reader = { stateAt: async () => recorded };

describe("restore into hub publishers (apply)", () => {
  it("a dry run delivers nothing", async () => {
    const { hub, applied } = await setup();
    const r = await restore("r.nwb", { at: 2, to: hub.url, dryRun: true, reader });
    await new Promise((res) => setTimeout(res, 100));
    expect(applied).toEqual([]);
    expect(r.counts).toMatchObject({ planned: 4, changed: 0, gone: 1 });
  });

  it("publishers that honour apply end with the recorded state; the others are reported", async () => {
    const { hub, applied } = await setup();
    const r = await restore("r.nwb", { at: 2, to: hub.url, reader, verifyTimeoutMs: 800 });
    // one apply per component, carrying the whole value: live fields the file lacks are kept
    expect(applied.map(([c]) => c).sort()).toEqual(["RIG/DEAF", "RIG/GAIN"]);
    expect(applied.find(([c]) => c === "RIG/GAIN")![1]).toEqual(
      jsonObject({ gain: 2.0, mode: "slow", spec: jsonObject({ order: 4n, kind: "bp" }), since: true }),
    );
    expect(r.outcomes.get("RIG/GAIN")).toEqual(
      new Map([
        ["gain", { status: "changed" }],
        ["mode", { status: "changed" }],
        ["spec.order", { status: "changed" }],
      ]),
    );
    expect(r.outcomes.get("RIG/DEAF")!.get("v")!.status).toBe("not-applied");
    expect(r.plan.components.find((c) => c.component === "RIG/GONE")!.status).toBe("gone");
    expect(r.complete).toBe(false);
    const check = await HubReader.connect(hub.url);
    closers.push(() => check.close());
    const snap = await check.settingsSnapshot();
    expect(snap.get("RIG/GAIN")!.structured_value).toEqual(jsonObject({ gain: 2.0, mode: "slow", spec: jsonObject({ order: 4n, kind: "bp" }), since: true }));
    expect(snap.get("RIG/DEAF")!.structured_value).toEqual(jsonObject({ v: 5n }));
  });

  it("the hub refuses apply for a component nobody registered, or one registered in its own process", async () => {
    const { hub } = await setup();
    hub.register("LOCAL", jsonObject({ x: 1n }));
    const client = await HubReader.connect(hub.url);
    closers.push(() => client.close());
    await expect(client.apply("NOPE", jsonObject({}))).rejects.toMatchObject({ code: "unknown_component" });
    await expect(client.apply("LOCAL", jsonObject({ x: 2n }))).rejects.toMatchObject({ code: "not_delivered" });
  });
});
