/**
 * Deep settings through the hub (#5): whatever nesting the hub accepts, every reader call parses
 * (snapshot, history, subscription) — an event the hub accepted but a reader could not parse
 * would fail every resume too (it stays in history), and nothing after it would be recorded.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_JSON_DEPTH, type JsonValue, jsonObject } from "../../../../src/events/json.js";
import { HubPublisher } from "../../../../src/producer/hub/hub-publisher.js";
import { HubReader } from "../../../../src/producer/hub/hub-reader.js";
import { HubError } from "../../../../src/producer/hub/protocol.js";
import { startHub, track, withTimeout } from "./helpers.js";

function nested(n: number): Map<string, JsonValue> {
  let v: JsonValue = 1n;
  for (let i = 0; i < n; i++) v = new Map([["a", v]]);
  return v as Map<string, JsonValue>;
}

function depthOf(v: JsonValue): number {
  let d = 0;
  let x: JsonValue | undefined = v;
  while (x instanceof Map) {
    d++;
    x = x.get("a");
  }
  return d;
}

describe("hub: nesting limits are consistent between the hub and its readers", () => {
  it("the deepest settings the hub accepts come back through snapshot, events and subscribe", async () => {
    const hub = await startHub();
    const pub = track(await HubPublisher.connect(hub.url, { checkMessageSize: false }));
    // find the deepest accepted value (the request's own levels count against the limit)
    let deepest = 0;
    for (let n = DEFAULT_MAX_JSON_DEPTH + 2; n > DEFAULT_MAX_JSON_DEPTH - 8; n--) {
      try {
        await pub.register(`D/${n}`, nested(n));
        deepest = n;
        break;
      } catch (err) {
        expect(err).toBeInstanceOf(HubError);
        expect((err as HubError).code).toBe("bad_json");
        expect((err as HubError).message).toMatch(/nesting deeper than 1024 levels/);
      }
    }
    expect(deepest).toBeGreaterThanOrEqual(1000); // a 1,000-deep value (issue #5) is accepted
    await pub.update(`D/${deepest}`, nested(deepest));

    const reader = track(await HubReader.connect(hub.url));
    const snap = await reader.settingsSnapshot();
    expect(depthOf(snap.get(`D/${deepest}`)!.structured_value)).toBe(deepest);
    const history = await reader.settingsEvents(0);
    expect(history.map((e) => depthOf(e.value.structured_value))).toEqual([deepest, deepest]);
    const sub = track(await reader.subscribe(0));
    const it = sub[Symbol.asyncIterator]();
    const got = await withTimeout(Promise.all([it.next(), it.next()]), 5000, "two events");
    expect(got.map((r) => depthOf(r.value!.value.structured_value))).toEqual([deepest, deepest]);
    // and the connection is still usable
    expect(await pub.register("after", jsonObject({ x: 1n }))).toBe(3);
  });
});
