/**
 * Settings values ezmsg can carry that the client once refused, failing the whole reply or frame
 * — and since the GraphServer keeps the event in its history and snapshot, failing again on every
 * reconnect, so `record` recorded nothing more (#5).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_JSON_DEPTH, parseJson, stringifyJson } from "../../../src/events/json.js";
import { MAX_SETTINGS_VALUE_DEPTH } from "../../../src/ezmsg/graph-messages.js";
import { PickleDecodeError, decodePickle, decodeSurrogatePass } from "../../../src/ezmsg/pickle-decoder.js";

const u8 = (...b: number[]) => new Uint8Array(b);

describe("ezmsg client: hostile but legal settings values", () => {
  it("a str with lone surrogates (pickle's surrogatepass bytes) decodes to the same UTF-16 code units", () => {
    // Python 3.11: pickle.dumps("\ud800x", 4)
    expect(decodePickle(u8(128, 4, 149, 8, 0, 0, 0, 0, 0, 0, 0, 140, 4, 237, 160, 128, 120, 148, 46))).toBe("\ud800x");
    // pickle.dumps({"s": "a\udc00b", "k\udfff": 1}, 4)
    const d = decodePickle(
      u8(
        128,
        4,
        149,
        26,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        125,
        148,
        40,
        140,
        1,
        115,
        148,
        140,
        5,
        97,
        237,
        176,
        128,
        98,
        148,
        140,
        4,
        107,
        237,
        191,
        191,
        148,
        75,
        1,
        117,
        46,
      ),
    );
    expect(d).toEqual(
      new Map<string, unknown>([
        ["s", "a\udc00b"],
        ["k\udfff", 1n],
      ]),
    );
  });

  it("other invalid UTF-8 is still refused", () => {
    expect(decodeSurrogatePass(u8(0x61, 0xff))).toBeNull();
    expect(decodeSurrogatePass(u8(0xed, 0xa0, 0x80, 0xc3))).toBeNull(); // a surrogate, then a cut sequence
    expect(decodeSurrogatePass(u8(0xed, 0x9f, 0xbf))).toBeNull(); // valid UTF-8 (U+D7FF): not this path
    let err: unknown;
    try {
      decodePickle(u8(128, 4, 140, 2, 0xed, 0xa0, 46));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PickleDecodeError);
  });

  it("a settings value as deep as the journal can hold is converted, and journals", () => {
    expect(MAX_SETTINGS_VALUE_DEPTH).toBe(DEFAULT_MAX_JSON_DEPTH - 2);
    // nested dicts {"a": {"a": ... 1}} of MAX_SETTINGS_VALUE_DEPTH levels, as a journal line would hold it
    let v: Map<string, unknown> | bigint = 1n;
    for (let i = 0; i < MAX_SETTINGS_VALUE_DEPTH; i++) v = new Map([["a", v]]);
    const line = stringifyJson(
      new Map([
        ["seq", 1n],
        ["structured_value", v as never],
      ]),
    );
    expect(() => parseJson(line)).not.toThrow();
  });
});
