import { describe, expect, it } from "vitest";
import { JsonSyntaxError, formatFloat, parseJson, stringifyJson } from "../../../src/events/json.js";

describe("parseJson", () => {
  it("keeps integers and floats apart", () => {
    const v = parseJson('{"i": 1, "f": 1.0, "e": 1e3, "neg": -7, "negf": -0.5}') as Map<string, unknown>;
    expect(v.get("i")).toBe(1n);
    expect(v.get("f")).toBe(1);
    expect(typeof v.get("f")).toBe("number");
    expect(v.get("e")).toBe(1000);
    expect(v.get("neg")).toBe(-7n);
    expect(v.get("negf")).toBe(-0.5);
  });

  it("keeps integers past 2^53 exact", () => {
    expect(parseJson("12345678901234567890")).toBe(12345678901234567890n);
    expect(parseJson("-9223372036854775808")).toBe(-9223372036854775808n);
  });

  it("accepts Python's NaN and Infinity tokens", () => {
    const v = parseJson("[NaN, Infinity, -Infinity]") as number[];
    expect(Number.isNaN(v[0])).toBe(true);
    expect(v[1]).toBe(Number.POSITIVE_INFINITY);
    expect(v[2]).toBe(Number.NEGATIVE_INFINITY);
  });

  it("keeps key order, integer-like keys and __proto__ as data", () => {
    const v = parseJson('{"b": 1, "2": 2, "a": 3, "__proto__": 4}') as Map<string, unknown>;
    expect([...v.keys()]).toEqual(["b", "2", "a", "__proto__"]);
    expect(v.get("__proto__")).toBe(4n);
  });

  it("decodes escapes and surrogate pairs", () => {
    expect(parseJson('"a\\n\\t\\"\\\\\\/\\u00e9\\ud83c\\udf89"')).toBe('a\n\t"\\/é🎉');
  });

  it.each([
    ['{"a": 1,}', "expected a string key"],
    ["[1, 2", "unexpected end of input"],
    ['{"a" 1}', "expected ':'"],
    ["01", "leading zero"],
    ["1.", "no digits after"],
    ["1e", "no digits in exponent"],
    ['"abc', "unterminated string"],
    ['"a\u0001"', "control character"],
    ['"\\x"', "invalid escape"],
    ['"\\u12g4"', "invalid \\u escape"],
    ["nul", "invalid literal"],
    ['{"x": 1, "x": 2}', 'duplicate key "x"'],
    ["1 2", "unexpected text after"],
    ["@", "unexpected character"],
    ["", "unexpected end of input"],
  ])("rejects %j with a clear message", (text, problem) => {
    expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    expect(() => parseJson(text)).toThrow(problem);
  });

  it("accepts lone surrogates as Python's json.dumps writes them, and writes them back as escapes", () => {
    const v = parseJson('["\\ud800 high", "\\udfff"]') as string[];
    expect(v[0]!.charCodeAt(0)).toBe(0xd800);
    expect(stringifyJson(v)).toBe('["\\ud800 high", "\\udfff"]');
  });

  it("reports the character position", () => {
    try {
      parseJson('{"a": tru}');
      expect.unreachable();
    } catch (err) {
      expect((err as JsonSyntaxError).position).toBe(6);
      expect((err as Error).message).toContain("at character 7");
    }
  });

  it("limits nesting depth", () => {
    const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);
    expect(() => parseJson(deep(1000))).not.toThrow();
    expect(() => parseJson(deep(1025))).toThrow("nesting deeper than 1024");
    expect(() => parseJson(deep(11), { maxDepth: 10 })).toThrow("nesting deeper than 10");
  });
});

describe("stringifyJson", () => {
  it("writes floats as floats and integers exactly, with Python's separators", () => {
    const v = parseJson('{"f": 1.0, "i": 12345678901234567890, "l": [1, 2.5, true, null, "é"]}');
    expect(stringifyJson(v)).toBe('{"f": 1.0, "i": 12345678901234567890, "l": [1, 2.5, true, null, "é"]}');
  });

  it("round-trips NaN, Infinity and -0.0", () => {
    const text = "[NaN, Infinity, -Infinity, -0.0]";
    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  it("keeps large and small floats as floats", () => {
    for (const n of [1e16, 1e21, 1e-7, 123456789012345680000, 0.1]) {
      const back = parseJson(formatFloat(n));
      expect(typeof back).toBe("number");
      expect(back).toBe(n);
    }
  });
});
