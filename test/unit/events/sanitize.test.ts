import { describe, expect, it } from "vitest";
import { parseJson } from "../../../src/events/json.js";
import { ColumnNamer, flattenComponentSettings, flattenSettings, sanitizeColumnName, sanitizeSettingsValue } from "../../../src/events/sanitize.js";
import { SettingArray, cellsEqual, dtypeOf, shapeOf } from "../../../src/events/settings-values.js";

const sv = (json: string) => sanitizeSettingsValue(parseJson(json));

describe("sanitizeColumnName (the reference's rule)", () => {
  it.each([
    ["SYS/GAIN.gain", "SYS.GAIN.gain"],
    ["a b  c", "a.b.c"],
    ["__private__", "private"],
    ["_x_", "x"],
    ["", "setting"],
    ["___", "setting"],
    ["3d.offset", "setting_3d.offset"],
    ["x/y", "x.y"],
    ["é/ü", "."],
    ["a..b", "a.b"],
    ["snake_case_ok", "snake_case_ok"],
  ])("%j -> %j", (input, expected) => {
    expect(sanitizeColumnName(input)).toBe(expected);
  });
});

describe("flattenSettings", () => {
  it("flattens nested mappings into dotted keys in order", () => {
    const flat = flattenSettings(parseJson('{"a": 1, "b": {"c": 2.0, "d": {"e": "x"}}, "f": [1, 2]}'));
    expect([...flat.keys()]).toEqual(["a", "b.c", "b.d.e", "f"]);
    expect(flat.get("b.c")).toBe(2);
    expect(flat.get("f")).toEqual([1n, 2n]);
  });

  it("keys a non-mapping value 'value'", () => {
    expect([...flattenSettings("GainSettings(gain=1.0)")]).toEqual([["value", "GainSettings(gain=1.0)"]]);
    expect([...flattenSettings(3n)]).toEqual([["value", 3n]]);
  });

  it("uses a prefix", () => {
    expect([...flattenSettings(parseJson('{"a": 1}'), "P").keys()]).toEqual(["P.a"]);
    expect([...flattenSettings(5n, "P").keys()]).toEqual(["P"]);
  });

  it("drops empty mappings (no column), as the reference does", () => {
    expect(flattenSettings(parseJson('{"a": {}, "b": 1}')).size).toBe(1);
    expect(flattenSettings(parseJson("{}")).size).toBe(0);
  });
});

describe("sanitizeSettingsValue", () => {
  it("None becomes the text 'None'", () => {
    expect(sv("null")).toBe("None");
  });

  it("scalars keep their type", () => {
    expect(sv("true")).toBe(true);
    expect(sv("3")).toBe(3n);
    expect(sv("3.0")).toBe(3);
    expect(dtypeOf(sv("3.0"))).toBe("float64");
    expect(sv('"é"')).toBe("é");
    expect(Number.isNaN(sv("NaN") as number)).toBe(true);
  });

  it("int64 range stays an integer; beyond it becomes exact decimal text", () => {
    expect(sv("9223372036854775807")).toBe(9223372036854775807n);
    expect(sv("-9223372036854775808")).toBe(-9223372036854775808n);
    expect(sv("9223372036854775808")).toBe("9223372036854775808");
    expect(sv("-9223372036854775809")).toBe("-9223372036854775809");
  });

  it("mappings become JSON text", () => {
    expect(sv('{"a": 1, "b": [1.0, null]}')).toBe('{"a": 1, "b": [1.0, null]}');
  });

  it("regular sequences become typed arrays", () => {
    const ints = sv("[1, 2, 3]") as SettingArray;
    expect(ints).toBeInstanceOf(SettingArray);
    expect(ints.dtype).toBe("int64");
    expect(ints.shape).toEqual([3]);
    expect(Array.from(ints.data as BigInt64Array)).toEqual([1n, 2n, 3n]);
    const floats = sv("[1.5, 2.5]") as SettingArray;
    expect(floats.dtype).toBe("float64");
    const bools = sv("[true, false]") as SettingArray;
    expect(bools.dtype).toBe("bool");
    expect(bools.toNested()).toEqual([true, false]);
    const strs = sv('["a", "b"]') as SettingArray;
    expect(strs.dtype).toBe("string");
    expect(strs.toNested()).toEqual(["a", "b"]);
  });

  it("promotes mixed scalars as numpy does", () => {
    expect((sv("[true, 2]") as SettingArray).toNested()).toEqual([1n, 2n]);
    expect((sv("[1, 2.5]") as SettingArray).toNested()).toEqual([1, 2.5]);
    expect((sv("[true, 2.5]") as SettingArray).toNested()).toEqual([1, 2.5]);
    expect((sv('[1, "a", 2.5, true]') as SettingArray).toNested()).toEqual(["1", "a", "2.5", "True"]);
    expect((sv("[null, 1]") as SettingArray).toNested()).toEqual(["None", "1"]);
  });

  it("nested regular sequences become multi-dimensional arrays", () => {
    const m = sv("[[1, 2, 3], [4, 5, 6]]") as SettingArray;
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe("int64");
    expect(m.toNested()).toEqual([
      [1n, 2n, 3n],
      [4n, 5n, 6n],
    ]);
    const mixed = sv("[[1, 2], [3.5, 4]]") as SettingArray;
    expect(mixed.dtype).toBe("float64");
    expect(mixed.nd.get(1, 0)).toBe(3.5);
  });

  it("an empty sequence is an empty float array (numpy's default)", () => {
    const e = sv("[]") as SettingArray;
    expect(e.dtype).toBe("float64");
    expect(e.shape).toEqual([0]);
  });

  it("irregular sequences become JSON text", () => {
    expect(sv("[[1, 2], [3]]")).toBe("[[1, 2], [3]]");
    expect(sv("[1, [2, 3]]")).toBe("[1, [2, 3]]");
    expect(sv("[[1], 2]")).toBe("[[1], 2]");
  });

  it("a sequence of mappings becomes an array of JSON texts", () => {
    const a = sv('[{"a": 1}, {"b": 2.0}]') as SettingArray;
    expect(a.dtype).toBe("string");
    expect(a.toNested()).toEqual(['{"a": 1}', '{"b": 2.0}']);
  });

  it("shapeOf and cellsEqual", () => {
    expect(shapeOf(sv("[[1], [2]]"))).toEqual([2, 1]);
    expect(shapeOf(sv("1"))).toEqual([]);
    expect(cellsEqual(sv("[1, 2]"), sv("[1, 2]"))).toBe(true);
    expect(cellsEqual(sv("[1, 2]"), sv("[1.0, 2.0]"))).toBe(false);
    expect(cellsEqual(sv("NaN"), sv("NaN"))).toBe(true);
    expect(cellsEqual(sv("1"), sv("1.0"))).toBe(false);
  });
});

describe("flattenComponentSettings", () => {
  it("prefixes the component address and sanitizes names and values", () => {
    const flat = flattenComponentSettings("SYS/GAIN", parseJson('{"gain": 2.5, "taps": [1, 2], "opts": {"mode": null}}'));
    expect([...flat.keys()]).toEqual(["SYS.GAIN.gain", "SYS.GAIN.taps", "SYS.GAIN.opts.mode"]);
    expect(flat.get("SYS.GAIN.gain")).toBe(2.5);
    expect(flat.get("SYS.GAIN.opts.mode")).toBe("None");
  });

  it("a repr string becomes one 'value' column", () => {
    expect([...flattenComponentSettings("A", "Settings()")]).toEqual([["A.value", "Settings()"]]);
  });

  it("colliding names get deterministic suffixes instead of overwriting", () => {
    const namer = new ColumnNamer();
    const a = flattenComponentSettings("a", parseJson('{"b/c": 1, "b.c": 2, "b c": 3}'), namer);
    expect([...a]).toEqual([
      ["a.b.c", 1n],
      ["a.b.c__2", 2n],
      ["a.b.c__3", 3n],
    ]);
    const b = flattenComponentSettings("a/b", parseJson('{"c": 4}'), namer);
    expect([...b]).toEqual([["a.b.c__4", 4n]]);
    // the same field keeps its name on later events
    const again = flattenComponentSettings("a", parseJson('{"b.c": 5}'), namer);
    expect([...again]).toEqual([["a.b.c__2", 5n]]);
  });

  it("reserved names are never handed out", () => {
    const namer = new ColumnNamer(["setting"]);
    expect(namer.columnFor("", "")).toBe("setting__2");
  });
});
