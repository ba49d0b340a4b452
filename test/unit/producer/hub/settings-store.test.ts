import { describe, expect, it } from "vitest";
import { jsonObject } from "../../../../src/events/json.js";
import { type RequestError, parseRequest } from "../../../../src/producer/hub/protocol.js";
import { SettingsStore } from "../../../../src/producer/hub/settings-store.js";

const v = (n: number) => ({ repr_value: jsonObject({ n }), structured_value: jsonObject({ n }) });

describe("SettingsStore", () => {
  it("global seq from 1, +1 per event; history trimmed by count; eventsAfter chunks by bytes", () => {
    let t = 100.0;
    const store = new SettingsStore({ historyLimit: 4, wallNow: () => (t += 0.5) });
    const owner = {};
    expect(store.register(owner, "A", v(0), "s").event).toMatchObject({ seq: 1, timestamp: 100.5, event_type: "INITIAL_SETTINGS", source_session_id: "s" });
    for (let k = 1; k <= 5; k++) store.update("A", v(k));
    expect(store.lastSeq).toBe(6);
    expect(store.oldestRetainedSeq).toBe(3);
    expect(store.eventsAfter(0).events.map((e) => e.event.seq)).toEqual([3, 4, 5, 6]);
    expect(store.eventsAfter(4).events.map((e) => e.event.seq)).toEqual([5, 6]);
    const one = store.eventAt(3)!.bytes;
    const chunk = store.eventsAfter(0, one + 1);
    expect([chunk.events.map((e) => e.event.seq), chunk.more]).toEqual([[3], true]);
    expect(store.eventsAfter(0, 1).events.length).toBe(1); // always at least one
    expect(store.eventAt(2)).toBeUndefined();
  });

  it("owners, conflicts, sessions and silent removal", () => {
    const store = new SettingsStore();
    const a = {};
    const b = {};
    store.register(a, "X/1", v(1), "sx");
    store.register(a, "X/0", v(1), "sx");
    expect(() => store.register(b, "X/1", v(2), null)).toThrow(/already registered/);
    expect(() => store.update("nope", v(1))).toThrow(/not registered/);
    store.register(b, "Y", v(1), null);
    expect(store.sessionComponents("sx")).toEqual(["X/0", "X/1"]);
    expect([...store.snapshot().keys()]).toEqual(["X/0", "X/1", "Y"]);
    expect(store.dropOwner(a).sort()).toEqual(["X/0", "X/1"]);
    expect(store.sessionComponents("sx")).toBeNull();
    expect([...store.snapshot().keys()]).toEqual(["Y"]);
    expect(store.lastSeq).toBe(3); // no event for the removal
  });

  it("maxComponents and the byte bound on history", () => {
    const store = new SettingsStore({ maxComponents: 1, historyMaxBytes: 10 });
    store.register({}, "A", v(1), null);
    expect(() => store.register({}, "B", v(1), null)).toThrow(/limit/);
    store.update("A", v(2));
    expect(store.retainedEvents).toBe(1); // the newest is always kept
  });
});

describe("protocol.parseRequest", () => {
  const err = (text: string) => {
    try {
      parseRequest(text);
    } catch (e) {
      return [(e as RequestError).code, (e as RequestError).id];
    }
    return null;
  };
  it("validates and names the problem", () => {
    expect(parseRequest('{"type": "events", "id": 1, "after_seq": 5}')).toEqual({ type: "events", id: 1n, afterSeq: 5 });
    expect(err("{")).toEqual(["bad_json", null]);
    expect(err("[1]")).toEqual(["bad_request", null]);
    expect(err('{"type": "snapshot", "id": 1.5}')).toEqual(["bad_request", null]);
    expect(err('{"type": "x", "id": "a"}')).toEqual(["unknown_type", "a"]);
    expect(err('{"type": "update", "id": 2, "component": "A", "settings": "s"}')).toEqual(["bad_settings", 2n]);
    expect(err('{"type": "register", "id": 2, "component": "", "settings": {}}')).toEqual(["bad_request", 2n]);
    expect(err('{"type": "subscribe", "id": 2, "after_seq": 1.0}')).toEqual(["bad_request", 2n]);
  });
});
