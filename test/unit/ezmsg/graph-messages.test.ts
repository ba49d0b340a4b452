import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonObject } from "../../../src/events/json.js";
import { EzmsgProtocolError } from "../../../src/ezmsg/errors.js";
import {
  sessionComponentsFromPickle,
  settingsEventFromPickle,
  settingsEventsFromPickle,
  settingsSnapshotFromPickle,
} from "../../../src/ezmsg/graph-messages.js";
import { decodePickle } from "../../../src/ezmsg/pickle-decoder.js";
import { PickleClassRef, PickleEnum, PickleObject, objectFields, type PickleValue } from "../../../src/ezmsg/pickle-values.js";
import { CAPTURED, GENERATED } from "./helpers.js";

const SRC = "test source";
const captured = (f: string): PickleValue => decodePickle(readFileSync(join(CAPTURED, f)));
const generated = (f: string): PickleValue => decodePickle(readFileSync(join(GENERATED, f)));

function shapeError(fn: () => unknown): EzmsgProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EzmsgProtocolError);
    return err as EzmsgProtocolError;
  }
  throw new Error("expected an EzmsgProtocolError");
}

/** A fresh decoded SettingsChangedEvent whose fields a test may change. */
function eventWith(edit: (fields: Map<PickleValue, PickleValue>) => void): PickleValue {
  const ev = captured("sub0_event_005.bin") as PickleObject;
  edit(objectFields(ev)!);
  return ev;
}

describe("ezmsg messages from captured payloads", () => {
  it("maps a pushed SettingsChangedEvent with types preserved", () => {
    const ev = settingsEventFromPickle(captured("sub0_event_005.bin"), SRC);
    expect(ev).toEqual({
      seq: 5,
      timestamp: 1795874973.3634849,
      component_address: "SYS/GAIN",
      event_type: "SETTINGS_UPDATED",
      source_session_id: "4c9db902-eb35-11f1-a886-02fc00000001",
      value: {
        repr_value: jsonObject({ gain: 2.5, mode: "slow", label: "via update_settings", enabled: true, taps: [1n, 2n, 3n] }),
        structured_value: jsonObject({ gain: 2.5, mode: "slow", label: "via update_settings", enabled: true, taps: [1n, 2n, 3n] }),
      },
    });
  });

  it("keeps a float with an integral value a float (1.0 stays a number, not a bigint)", () => {
    const ev = settingsEventFromPickle(captured("sub0_event_006.bin"), SRC);
    const v = ev.value.structured_value as Map<string, unknown>;
    expect(v.get("gain")).toBe(1);
    expect(typeof v.get("gain")).toBe("number");
    expect(v.get("taps")).toEqual([1n, 2n, 3n]);
  });

  it("maps the SESSION_SETTINGS_EVENTS reply (seq 1..5)", () => {
    const events = settingsEventsFromPickle(captured("live_settings_events_after0.bin"), SRC);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.map((e) => e.event_type)).toEqual(["INITIAL_SETTINGS", "INITIAL_SETTINGS", "INITIAL_SETTINGS", "INITIAL_SETTINGS", "SETTINGS_UPDATED"]);
    expect(events.map((e) => e.component_address)).toEqual(["SYS", "SYS/GAIN", "SYS/SINK", "SYS/TICK", "SYS/GAIN"]);
    expect(events[3]!.value.repr_value).toEqual(jsonObject({ rate_hz: 2.0 }));
  });

  it("maps the SESSION_SETTINGS_SNAPSHOT reply and an empty one", () => {
    const snap = settingsSnapshotFromPickle(captured("live_settings_snapshot.bin"), SRC);
    expect([...snap.keys()]).toEqual(["SYS", "SYS/GAIN", "SYS/SINK", "SYS/TICK"]);
    expect((snap.get("SYS/GAIN")!.structured_value as Map<string, unknown>).get("gain")).toBe(2.5);
    expect(settingsSnapshotFromPickle(captured("afterexit_settings_snapshot.bin"), SRC).size).toBe(0);
  });

  it("finds the components of a session in a GraphSnapshot", () => {
    const snap = captured("live_graph_snapshot.bin");
    expect(sessionComponentsFromPickle(snap, "4c9db902-eb35-11f1-a886-02fc00000001", SRC)!.sort()).toEqual(["SYS", "SYS/GAIN", "SYS/SINK", "SYS/TICK"]);
    expect(sessionComponentsFromPickle(snap, "6ba1aa7a-eb35-11f1-a886-02fc00000001", SRC)).toEqual([]);
    expect(sessionComponentsFromPickle(snap, "00000000-0000-0000-0000-000000000000", SRC)).toBeNull();
  });
});

describe("ezmsg messages from vectors generated with ezmsg 3.9 (protocols 2-5)", () => {
  for (const p of [2, 3, 4, 5]) {
    it(`protocol ${p}: mixed types, big ints, nested dataclass, repr-only value`, () => {
      const [initial, update, reprOnly] = settingsEventsFromPickle(generated(`ezmsg_events_list.p${p}.pkl`), SRC);
      expect(initial!.value).toEqual({ repr_value: new Map(), structured_value: new Map() });
      expect(initial!.source_session_id).toBe("4c9db902-eb35-11f1-a886-02fc00000001");
      const v = update!.value.structured_value as Map<string, unknown>;
      expect(v).toEqual(
        jsonObject({
          gain: 2.0,
          offset: 2n ** 60n + 7n,
          mode: "slow",
          enabled: false,
          taps: [0.1, 0.5, 1.0],
          filter: jsonObject({ order: 4n, cutoff_hz: 30.0, kind: "lowpass" }),
          label: "µV ünïcode ✓ 🎛",
        }),
      );
      expect(typeof v.get("gain")).toBe("number");
      expect(reprOnly).toMatchObject({ seq: 3, source_session_id: null, value: { repr_value: "Opaque(x=1)", structured_value: null } });
      const snap = settingsSnapshotFromPickle(generated(`ezmsg_settings_snapshot.p${p}.pkl`), SRC);
      expect([...snap.keys()]).toEqual(["SYS", "SYS/GAIN"]);
      const graph = generated(`ezmsg_graph_snapshot.p${p}.pkl`);
      expect(sessionComponentsFromPickle(graph, "4c9db902-eb35-11f1-a886-02fc00000001", SRC)).toEqual(["SYS", "SYS/GAIN"]);
      expect(sessionComponentsFromPickle(graph, "6ba1aa7a-eb35-11f1-a886-02fc00000001", SRC)).toEqual([]);
    });
  }
});

describe("ezmsg messages: wrong shapes are clear errors naming the source and the field", () => {
  it("an event missing a field", () => {
    const e = shapeError(() =>
      settingsEventFromPickle(
        eventWith((f) => f.delete("seq")),
        "SUB on ezmsg://h:1",
      ),
    );
    expect(e.message).toBe("SUB on ezmsg://h:1: settings event: missing field 'seq'");
  });
  it("an event value that is not a SettingsSnapshotValue", () => {
    const e = shapeError(() =>
      settingsEventFromPickle(
        eventWith((f) => f.set("value", new Map())),
        SRC,
      ),
    );
    expect(e.message).toMatch(/settings event\.value: expected a SettingsSnapshotValue, got dict/);
  });
  it("a repr_value that is neither dict nor str", () => {
    const ev = eventWith((f) => objectFields(f.get("value") as PickleObject)!.set("repr_value", 3n));
    expect(shapeError(() => settingsEventFromPickle(ev, SRC)).message).toMatch(/repr_value: expected a dict or str, got int/);
  });
  it("a structured_value that is not a dict", () => {
    const ev = eventWith((f) => objectFields(f.get("value") as PickleObject)!.set("structured_value", [1n]));
    expect(shapeError(() => settingsEventFromPickle(ev, SRC)).message).toMatch(/structured_value: expected a dict or None/);
  });
  it("settings data containing bytes or a non-str key", () => {
    const withBytes = eventWith((f) =>
      (objectFields(f.get("value") as PickleObject)!.get("repr_value") as Map<PickleValue, PickleValue>).set("raw", new Uint8Array(2)),
    );
    expect(shapeError(() => settingsEventFromPickle(withBytes, SRC)).message).toMatch(/repr_value\.raw: bytes is not settings data/);
    const intKey = eventWith((f) => (objectFields(f.get("value") as PickleObject)!.get("repr_value") as Map<PickleValue, PickleValue>).set(1n, 2n));
    expect(shapeError(() => settingsEventFromPickle(intKey, SRC)).message).toMatch(/dict key of type int/);
  });
  it("an unknown event type", () => {
    const ev = eventWith((f) => f.set("event_type", new PickleEnum(new PickleClassRef("ezmsg.core.graphmeta", "SettingsEventType"), null, "SETTINGS_REMOVED")));
    expect(shapeError(() => settingsEventFromPickle(ev, SRC)).message).toMatch(/event_type: .*got SettingsEventType\("SETTINGS_REMOVED"\)/);
  });
  it("a seq that is a float or negative", () => {
    expect(
      shapeError(() =>
        settingsEventFromPickle(
          eventWith((f) => f.set("seq", 1.5)),
          SRC,
        ),
      ).message,
    ).toMatch(/seq: expected a non-negative int/);
    expect(
      shapeError(() =>
        settingsEventFromPickle(
          eventWith((f) => f.set("seq", -1n)),
          SRC,
        ),
      ).message,
    ).toMatch(/seq/);
  });
  it("a reply of the wrong kind", () => {
    expect(shapeError(() => settingsSnapshotFromPickle([], SRC)).message).toMatch(/settings snapshot: expected a dict, got list/);
    expect(shapeError(() => settingsEventsFromPickle(new Map(), SRC)).message).toMatch(/settings events: expected a list, got dict/);
    expect(shapeError(() => settingsEventsFromPickle([null], SRC)).message).toMatch(/settings events\[0\]: expected a SettingsChangedEvent, got None/);
    expect(shapeError(() => settingsSnapshotFromPickle(new Map([["SYS", "x"]]), SRC)).message).toMatch(
      /settings snapshot\["SYS"\]: expected a SettingsSnapshotValue, got str/,
    );
    expect(shapeError(() => sessionComponentsFromPickle(new Map(), "s", SRC)).message).toMatch(/graph snapshot: expected a GraphSnapshot/);
  });
  it("an object with the right name but no field dict", () => {
    const o = new PickleObject(new PickleClassRef("ezmsg.core.graphmeta", "SettingsChangedEvent"), "newobj", [], null);
    expect(shapeError(() => settingsEventFromPickle(o, SRC)).message).toMatch(/SettingsChangedEvent has no field dict/);
  });
});
