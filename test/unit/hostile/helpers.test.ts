/**
 * The core helpers against hostile input, table-driven: column naming (sanitize + collisions),
 * value sanitizing (deep, huge, non-finite), flattening, the JSON codec and line decoding.
 */
import { describe, expect, it } from "vitest";
import { eventFromJson, parseEvent, serializeEvent } from "../../../src/events/event-codec.js";
import { type JsonValue, parseJson, stringifyJson } from "../../../src/events/json.js";
import { ColumnNamer, MAX_CELL_RANK, flattenSettings, sanitizeSettingsValue } from "../../../src/events/sanitize.js";
import { SettingArray } from "../../../src/events/settings-values.js";
import { decodeLine } from "../../../src/events/jsonl-lines.js";

const nestedArray = (n: number): JsonValue => (n === 0 ? 1n : [nestedArray(n - 1)]);

describe("column names from hostile component addresses and keys", () => {
  it.each([
    ["A", "x", "A.x"],
    ["SYS/FILTER", "cutoff hz", "SYS.FILTER.cutoff.hz"],
    ["", "", "setting"], // "." only → "setting"
    ["", "x", ".x"],
    ["a", "", "a."],
    ["...", "...", "setting"],
    ["  ", " ", "setting"],
    ["1st", "x", "setting_1st.x"],
    ["_a_", "_b_", "a_._b"],
    ["é", "ü", "setting"],
    ["a\u0000b", "c", "a.b.c"],
  ])("component %j key %j → %j", (component, key, name) => {
    expect(new ColumnNamer().columnFor(component, key)).toBe(name);
  });

  it("never gives two settings one column, and names by first appearance (deterministic)", () => {
    const fields: [string, string][] = [
      ["a", "b/c"],
      ["a/b", "c"],
      ["a.b", "c"],
      ["a", "b c"],
      ["a", "b/c"],
      ["", ""],
      ["/", "/"],
    ];
    const name = (order: [string, string][]) => {
      const n = new ColumnNamer(["id", "start_time"]);
      return order.map(([c, k]) => n.columnFor(c, k));
    };
    const first = name(fields);
    expect(first).toEqual(["a.b.c", "a.b.c__2", "a.b.c__3", "a.b.c__4", "a.b.c", "setting", "setting__2"]);
    expect(name(fields)).toEqual(first);
    // The same fields in another order: the first to appear keeps the plain name.
    expect(
      name([
        ["a/b", "c"],
        ["a", "b/c"],
      ]),
    ).toEqual(["a.b.c", "a.b.c__2"]);
    // A name that is itself "x__2" cannot steal a suffixed name either.
    const n = new ColumnNamer();
    expect([n.columnFor("x", ""), n.columnFor("x", "_"), n.columnFor("x__2", "")]).toEqual(["x.", "x.__2", "x__2."]);
  });

  it("reserved names are never produced", () => {
    const n = new ColumnNamer(["setting"]);
    expect(n.columnFor("", "")).toBe("setting__2");
  });
});

describe("settings values", () => {
  it.each([
    ["int64 max stays an integer", 2n ** 63n - 1n, 2n ** 63n - 1n],
    ["int64 min stays an integer", -(2n ** 63n), -(2n ** 63n)],
    ["past int64 becomes exact decimal text", 2n ** 63n, "9223372036854775808"],
    ["far past int64", 10n ** 400n, `1${"0".repeat(400)}`],
    ["NaN stays NaN", Number.NaN, Number.NaN],
    ["-Infinity stays", Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ["null is None", null, "None"],
    ["an object inside a value is JSON text", new Map([["a", 1n]]), '{"a": 1}'],
  ] as [string, JsonValue, unknown][])("%s", (_n, input, out) => {
    expect(sanitizeSettingsValue(input)).toEqual(out);
  });

  it("arrays up to 31 levels deep stay typed; deeper ones are JSON text, without recursion trouble", () => {
    const ok = sanitizeSettingsValue(nestedArray(MAX_CELL_RANK));
    expect(ok).toBeInstanceOf(SettingArray);
    expect((ok as SettingArray).shape).toHaveLength(MAX_CELL_RANK);
    expect(sanitizeSettingsValue(nestedArray(MAX_CELL_RANK + 1))).toBe(stringifyJson(nestedArray(MAX_CELL_RANK + 1)));
    const deep = parseJson("[".repeat(1000) + "]".repeat(1000));
    expect(sanitizeSettingsValue(deep)).toBe(stringifyJson(deep));
  });

  it("flattens 1,000-deep mappings into one dotted key", () => {
    const deep = parseJson(`${'{"a": '.repeat(1000)}1${"}".repeat(1000)}`);
    const flat = flattenSettings(deep);
    expect([...flat.keys()]).toEqual([Array(1000).fill("a").join(".")]);
  });

  it("keeps every value when paths collide after joining, each in its own column", () => {
    const n = new ColumnNamer();
    const flat = [...flattenSettings(parseJson('{"a": {"b": 1}, "a.b": 2, "": 3, "value": 4}'))].map(([k, v]) => [n.columnFor("C", k), v]);
    expect(flat).toEqual([
      ["C.a.b", 1n],
      ["C.a.b__2", 2n],
      ["C.", 3n],
      ["C.value", 4n],
    ]);
  });

  it.each([
    ["a number", "5", ["value"]],
    ["a string", '"x"', ["value"]],
    ["a list", "[1, 2]", ["value"]],
    ["an empty mapping", "{}", []],
    ["empty keys", '{"": {"": 1}}', ["."]],
    ["an empty key beside value", '{"": 1, "value": 2}', ["", "value"]],
    ["a dotted key beside a nested one", '{"a": {"b": 1}, "a.b": 2, "a\\\\.b": 3}', ["a.b", "a\\.b", "a\\\\\\.b"]],
    ["an empty key above another", '{"": {"x": 1}, "x": 2}', [".x", "x"]],
  ])("settings that are %s flatten to %j", (_n, json, keys) => {
    expect([...flattenSettings(parseJson(json)).keys()]).toEqual(keys);
  });
});

describe("the JSON codec with hostile strings", () => {
  it.each([
    ["NUL", "a\u0000b"],
    ["lone high surrogate", "\ud800"],
    ["lone low surrogate then text", "\udfffx"],
    ["U+2028/2029", "a\u2028b\u2029"],
    ["all C0 controls", Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("")],
    ["quotes and backslashes", '"\\\\"'],
  ])("%s round-trips through an event line", (_n, s) => {
    const e = eventFromJson(
      parseJson(
        `{"seq": 1, "timestamp": 0.5, "component_address": ${JSON.stringify(s)}, "event_type": "UPDATED", "structured_value": {${JSON.stringify(s)}: ${JSON.stringify(s)}}}`,
      ),
    );
    const line = serializeEvent(e);
    expect(line).not.toMatch(/[\n\r]/); // one line, whatever the content
    const back = parseEvent(line);
    expect(back.component_address).toBe(s);
    expect(serializeEvent(back)).toBe(line);
  });

  it("keeps a 10 MB string exact", () => {
    const s = "é".repeat(5 * 1024 * 1024);
    expect(parseJson(stringifyJson(s))).toBe(s);
  });

  it("rejects 100,000-deep nesting with a message, not a stack overflow", () => {
    expect(() => parseJson("[".repeat(100_000) + "]".repeat(100_000))).toThrow(/nesting deeper than 1024 levels/);
  });
});

describe("line decoding", () => {
  it.each([
    ["a stray continuation byte", [0x61, 0x80], /byte 0x80 at byte 2/],
    ["0xff", [0xff], /byte 0xff at byte 1/],
    ["a truncated 3-byte sequence", [0x61, 0xe2, 0x82], /byte 0xe2 at byte 2/],
    ["CESU-8 surrogate", [0xed, 0xa0, 0x80], /byte 0xed at byte 1/],
    ["overlong '/'", [0xc0, 0xaf], /byte 0xc0/],
    ["past U+10FFFF", [0xf4, 0x90, 0x80, 0x80], /byte 0xf4/],
  ])("rejects %s", (_n, bytes, message) => {
    expect(() => decodeLine(Uint8Array.from(bytes))).toThrow(message);
  });

  it("accepts valid UTF-8 and drops one trailing CR", () => {
    expect(decodeLine(Buffer.from("é🎉\r"))).toBe("é🎉");
    expect(decodeLine(Buffer.from("a\rb"))).toBe("a\rb");
  });
});
