import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PickleDecodeError, decodePickle, type PickleErrorCode } from "../../../src/ezmsg/pickle-decoder.js";
import { PickleClassRef, PickleEnum, PickleObject, objectFields, type PickleValue } from "../../../src/ezmsg/pickle-values.js";
import { CAPTURED, GENERATED, typed } from "./helpers.js";

interface Vector {
  file: string;
  group: string;
  name: string;
  protocol: number;
  description: string;
  expected: unknown;
}
const vectorsDoc = JSON.parse(readFileSync(join(GENERATED, "vectors.json"), "utf8")) as { ezmsg_version: string; vectors: Vector[] };
const capturedExpected = JSON.parse(readFileSync(join(CAPTURED, "expected.json"), "utf8")) as Record<string, unknown>;
const capturedPayloads = readdirSync(CAPTURED).filter((f) => f.endsWith(".bin") && !f.includes("transcript"));

/** Build bytes from opcodes (numbers), raw byte arrays and latin-1 strings. */
function bytes(...parts: (number | number[] | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const PROTO4 = [0x80, 4];
const STOP = 0x2e;
const sbu = (s: string): number[] => [0x8c, Buffer.byteLength(s), ...Buffer.from(s)];

function decodeError(data: Uint8Array, options = {}): PickleDecodeError {
  try {
    decodePickle(data, options);
  } catch (err) {
    expect(err).toBeInstanceOf(PickleDecodeError);
    return err as PickleDecodeError;
  }
  throw new Error("expected a PickleDecodeError, but decoding succeeded");
}

describe("pickle decoder: vectors generated with the pinned ezmsg", () => {
  it("has vectors from ezmsg 3.9 for protocols 2 to 5", () => {
    expect(vectorsDoc.ezmsg_version).toBe("3.9.0");
    expect(new Set(vectorsDoc.vectors.map((v) => v.protocol))).toEqual(new Set([2, 3, 4, 5]));
  });
  for (const v of vectorsDoc.vectors) {
    it(`${v.file}: ${v.description}`, () => {
      const decoded = decodePickle(readFileSync(join(GENERATED, v.file)));
      expect(typed(decoded)).toEqual(v.expected);
    });
  }
});

describe("pickle decoder: payloads captured from a live ezmsg 3.9 GraphServer", () => {
  it("has an expectation for every captured payload", () => {
    expect(capturedPayloads.sort()).toEqual(Object.keys(capturedExpected).sort());
    expect(capturedPayloads.length).toBeGreaterThanOrEqual(24);
  });
  for (const f of capturedPayloads) {
    it(`${f} decodes to what Python's pickle.loads gives`, () => {
      expect(typed(decodePickle(readFileSync(join(CAPTURED, f))))).toEqual(capturedExpected[f]);
    });
  }

  it("keeps ints and floats apart, maps UUIDs to strings and the event type to its member", () => {
    const ev = decodePickle(readFileSync(join(CAPTURED, "sub0_event_005.bin")));
    expect(ev).toBeInstanceOf(PickleObject);
    const f = objectFields(ev as PickleObject)!;
    expect((ev as PickleObject).cls.qualifiedName).toBe("ezmsg.core.graphmeta.SettingsChangedEvent");
    expect(f.get("seq")).toBe(5n);
    expect(f.get("timestamp")).toBeTypeOf("number");
    expect(f.get("source_process_id")).toBe("4ca8563c-eb35-11f1-a886-02fc00000001");
    expect(f.get("source_session_id")).toBe("4c9db902-eb35-11f1-a886-02fc00000001");
    const et = f.get("event_type");
    expect(et).toBeInstanceOf(PickleEnum);
    expect((et as PickleEnum).member).toBe("SETTINGS_UPDATED");
    const value = objectFields(f.get("value") as PickleObject)!;
    const repr = value.get("repr_value") as Map<string, PickleValue>;
    expect(repr.get("gain")).toBe(2.5);
    expect(repr.get("taps")).toEqual([1n, 2n, 3n]);
    expect(repr.get("enabled")).toBe(true);
    expect(value.get("serialized")).toBeInstanceOf(Uint8Array);
  });

  it("agrees with the README's decoded summary of every pushed frame", () => {
    const readme = JSON.parse(readFileSync(join(CAPTURED, "README.json"), "utf8")) as {
      files: Record<
        string,
        { decoded?: { seq: number; event_type: string; component_address: string; source_session_id: string | null; source_process_id: string | null } }
      >;
    };
    let n = 0;
    for (const [file, meta] of Object.entries(readme.files)) {
      if (!meta.decoded) continue;
      const f = objectFields(decodePickle(readFileSync(join(CAPTURED, file))) as PickleObject)!;
      expect(f.get("seq")).toBe(BigInt(meta.decoded.seq));
      expect((f.get("event_type") as PickleEnum).member).toBe(meta.decoded.event_type);
      expect(f.get("component_address")).toBe(meta.decoded.component_address);
      expect(f.get("source_session_id")).toBe(meta.decoded.source_session_id);
      expect(f.get("source_process_id")).toBe(meta.decoded.source_process_id);
      n++;
    }
    expect(n).toBe(12);
  });
});

describe("pickle decoder: code is never run", () => {
  it("decodes REDUCE(os.system, ...) as an inert record", () => {
    for (const p of [2, 3, 4, 5]) {
      const v = decodePickle(readFileSync(join(GENERATED, `edge_runs_command.p${p}.pkl`)));
      expect(v).toBeInstanceOf(PickleObject);
      const o = v as PickleObject;
      expect(o.cls).toBeInstanceOf(PickleClassRef);
      expect(`${o.module}.${o.name}`).toBe("posix.system");
      expect(o.construction).toBe("reduce");
      expect(o.args).toEqual(["echo pwned > /tmp/nwb-settings-pickle-pwned"]);
    }
    expect(existsSync("/tmp/nwb-settings-pickle-pwned")).toBe(false);
  });

  it("turns GLOBAL of any name (builtins.eval, __import__) into a class reference only", () => {
    const v = decodePickle(bytes(0x63, "builtins\neval\n", ...sbu("1+1"), 0x85, 0x52, STOP));
    expect(v).toBeInstanceOf(PickleObject);
    expect((v as PickleObject).cls.qualifiedName).toBe("builtins.eval");
    const g = decodePickle(bytes(...PROTO4, ...sbu("builtins"), ...sbu("__import__"), 0x93, STOP));
    expect(g).toEqual(new PickleClassRef("builtins", "__import__"));
  });
});

describe("pickle decoder: hostile input", () => {
  const truncationSamples = ["sub0_event_005.bin", "live_graph_snapshot.bin", "live_settings_events_after0.bin", "live_settings_snapshot.bin"];
  for (const f of truncationSamples) {
    it(`${f} truncated at every offset throws PickleDecodeError`, () => {
      const data = readFileSync(join(CAPTURED, f));
      for (let n = 0; n < data.length; n++) {
        const e = decodeError(data.subarray(0, n));
        expect(e.code).toBe("truncated");
        expect(e.offset).toBeLessThanOrEqual(n);
      }
    });
  }
  it("a protocol-2 payload truncated at every offset throws PickleDecodeError", () => {
    const data = readFileSync(join(GENERATED, "ezmsg_graph_snapshot.p2.pkl"));
    for (let n = 0; n < data.length; n++) expect(decodeError(data.subarray(0, n))).toBeInstanceOf(PickleDecodeError);
  });

  const cases: { name: string; data: Uint8Array; code: PickleErrorCode; offset?: number; options?: object; message?: RegExp }[] = [
    { name: "empty input", data: bytes(), code: "truncated", offset: 0 },
    { name: "unknown opcode", data: bytes(...PROTO4, 0xff, STOP), code: "unknown_opcode", offset: 2, message: /0xff/ },
    { name: "unknown opcode 0x99", data: bytes(0x99), code: "unknown_opcode", offset: 0 },
    { name: "PERSID", data: bytes(...PROTO4, 0x50, "x\n", STOP), code: "unsupported_opcode" },
    { name: "BINPERSID", data: bytes(...PROTO4, 0x4e, 0x51, STOP), code: "unsupported_opcode" },
    { name: "EXT1", data: bytes(...PROTO4, 0x82, 1, STOP), code: "unsupported_opcode" },
    { name: "INST", data: bytes(0x28, 0x69, "os\nsystem\n", STOP), code: "unsupported_opcode" },
    { name: "NEXT_BUFFER without buffers", data: bytes(0x80, 5, 0x97, STOP), code: "missing_buffer", offset: 2 },
    { name: "READONLY_BUFFER on a non-buffer", data: bytes(0x80, 5, 0x4e, 0x98, STOP), code: "type_error", offset: 3 },
    { name: "a buffer left unused", data: bytes(0x80, 5, 0x4e, STOP), options: { buffers: [new Uint8Array(4)] }, code: "unused_buffer" },
    { name: "protocol 6", data: bytes(0x80, 6, 0x4e, STOP), code: "unsupported_protocol" },
    { name: "protocol 1 PROTO", data: bytes(0x80, 1, 0x4e, STOP), code: "unsupported_protocol" },
    { name: "no STOP", data: bytes(...PROTO4, 0x4e), code: "truncated" },
    { name: "trailing bytes after STOP", data: bytes(...PROTO4, 0x4e, STOP, 0x4e), code: "trailing_data", offset: 4 },
    { name: "STOP on empty stack", data: bytes(...PROTO4, STOP), code: "stack_underflow" },
    { name: "TUPLE2 with one value", data: bytes(...PROTO4, 0x4e, 0x86, STOP), code: "stack_underflow" },
    { name: "APPENDS without MARK", data: bytes(...PROTO4, 0x5d, 0x65, STOP), code: "mark_missing" },
    { name: "BINGET of an unset index", data: bytes(...PROTO4, 0x68, 7, STOP), code: "bad_memo", message: /memo index 7/ },
    { name: "LONG_BINGET of a huge index", data: bytes(...PROTO4, 0x6a, ...u32(0xffffffff), STOP), code: "bad_memo" },
    { name: "MEMOIZE on an empty stack", data: bytes(...PROTO4, 0x94, STOP), code: "stack_underflow" },
    { name: "memo cycle (list contains itself)", data: bytes(...PROTO4, 0x5d, 0x94, 0x68, 0, 0x61, STOP), code: "cycle" },
    {
      name: "dict containing itself through the memo",
      data: bytes(...PROTO4, 0x7d, 0x94, ...sbu("me"), 0x68, 0, 0x73, STOP),
      code: "cycle",
    },
    { name: "BINUNICODE8 declaring 2^62 bytes", data: bytes(...PROTO4, 0x8d, ...u64(1n << 62n), STOP), code: "limit_exceeded" },
    { name: "BINUNICODE8 declaring 2^64-1 bytes", data: bytes(...PROTO4, 0x8d, ...u64((1n << 64n) - 1n), STOP), code: "limit_exceeded" },
    { name: "BINBYTES declaring 4 GiB", data: bytes(...PROTO4, 0x42, ...u32(0xffffffff), STOP), code: "limit_exceeded" },
    { name: "BINUNICODE longer than the input", data: bytes(...PROTO4, 0x58, ...u32(1000), "abc"), code: "truncated" },
    { name: "LONG4 declaring 2 GiB", data: bytes(...PROTO4, 0x8b, ...u32(0x7fffffff), STOP), code: "limit_exceeded" },
    { name: "LONG4 with a negative length", data: bytes(...PROTO4, 0x8b, ...u32(0xffffffff), STOP), code: "bad_value" },
    { name: "FRAME longer than the input", data: bytes(...PROTO4, 0x95, ...u64(1n << 40n), 0x4e, STOP), code: "truncated" },
    { name: "invalid UTF-8 in a str", data: bytes(...PROTO4, 0x8c, 2, 0xc3, 0x28, STOP), code: "bad_utf8" },
    { name: "STACK_GLOBAL with non-str names", data: bytes(...PROTO4, 0x4e, 0x4e, 0x93, STOP), code: "type_error" },
    { name: "REDUCE on a non-class", data: bytes(...PROTO4, 0x4e, 0x29, 0x52, STOP), code: "type_error" },
    { name: "REDUCE with list args", data: bytes(...PROTO4, ...sbu("os"), ...sbu("system"), 0x93, 0x5d, 0x52, STOP), code: "type_error" },
    { name: "BUILD on a list", data: bytes(...PROTO4, 0x5d, 0x7d, 0x62, STOP), code: "type_error" },
    { name: "APPEND to a tuple", data: bytes(...PROTO4, 0x29, 0x4e, 0x61, STOP), code: "type_error" },
    { name: "SETITEM on a list", data: bytes(...PROTO4, 0x5d, 0x4e, 0x4e, 0x73, STOP), code: "type_error" },
    { name: "unhashable dict key", data: bytes(...PROTO4, 0x7d, 0x5d, 0x4e, 0x73, STOP), code: "type_error" },
    { name: "SETITEMS with an odd count", data: bytes(...PROTO4, 0x7d, 0x28, 0x4e, 0x75, STOP), code: "bad_value" },
    { name: "uuid.UUID without int", data: bytes(...PROTO4, ...sbu("uuid"), ...sbu("UUID"), 0x93, 0x29, 0x81, 0x7d, 0x62, STOP), code: "bad_value" },
    {
      name: "input over maxInputBytes",
      data: bytes(...PROTO4, 0x4e, STOP),
      options: { maxInputBytes: 3 },
      code: "input_too_large",
      offset: 0,
    },
    { name: "string over maxStringBytes", data: bytes(...PROTO4, ...sbu("hello"), STOP), options: { maxStringBytes: 4 }, code: "limit_exceeded" },
    {
      name: "list over maxContainerItems",
      data: bytes(...PROTO4, 0x5d, 0x28, 0x4e, 0x4e, 0x4e, 0x65, STOP),
      options: { maxContainerItems: 2 },
      code: "limit_exceeded",
    },
    { name: "over maxObjects", data: bytes(...PROTO4, 0x5d, 0x28, 0x4e, 0x4e, 0x4e, 0x65, STOP), options: { maxObjects: 3 }, code: "limit_exceeded" },
    {
      name: "over maxMemoEntries",
      data: bytes(...PROTO4, 0x4e, 0x94, 0x94, 0x94, STOP),
      options: { maxMemoEntries: 2 },
      code: "limit_exceeded",
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}`, () => {
      const e = decodeError(c.data, c.options);
      expect(e.code).toBe(c.code);
      if (c.offset !== undefined) expect(e.offset).toBe(c.offset);
      if (c.message) expect(e.message).toMatch(c.message);
      expect(e.message).toMatch(/at byte \d+/);
    });
  }

  it("rejects a depth bomb of nested lists (EMPTY_LIST/APPEND, no MARK needed)", () => {
    const depth = 100_000;
    // [[[...]]]: push `depth` empty lists, then APPEND each into the one below.
    const data = new Uint8Array(2 + depth + depth - 1 + 1);
    data.set(PROTO4);
    data.fill(0x5d, 2, 2 + depth);
    data.fill(0x61, 2 + depth, 2 + depth + depth - 1);
    data[data.length - 1] = STOP;
    const e = decodeError(data);
    expect(e.code).toBe("limit_exceeded");
    expect(e.message).toMatch(/maxDepth=1100/);
  });

  it("rejects a MARK bomb", () => {
    const data = bytes(...PROTO4, ...new Array(10_000).fill(0x28), STOP);
    const e = decodeError(data);
    expect(e.code).toBe("limit_exceeded");
    expect(e.message).toMatch(/MARK/);
  });

  it("accepts nesting up to maxDepth", () => {
    const depth = 150;
    const data = bytes(...PROTO4, ...new Array(depth).fill(0x5d), ...new Array(depth - 1).fill(0x61), STOP);
    let v = decodePickle(data);
    for (let i = 1; i < depth; i++) v = (v as PickleValue[])[0]!;
    expect(v).toEqual([]);
  });

  it("rejects a billion-laughs pickle (shared references expanding exponentially)", () => {
    // a0 = [None]; a(k+1) = [a(k)] * 10 via memo; 30 levels would be 10^30 nodes.
    const parts: number[] = [...PROTO4, 0x5d, 0x4e, 0x61, 0x94];
    for (let k = 0; k < 30; k++) {
      parts.push(0x5d, 0x28, ...new Array(10).fill([0x68, k]).flat(), 0x65, 0x94);
    }
    parts.push(STOP);
    const started = Date.now();
    const e = decodeError(Uint8Array.from(parts));
    expect(e.code).toBe("limit_exceeded");
    expect(e.message).toMatch(/maxObjects/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("never fails with anything but PickleDecodeError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        try {
          decodePickle(data);
        } catch (err) {
          if (!(err instanceof PickleDecodeError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("never fails with anything but PickleDecodeError on mutated real payloads", () => {
    const base = readFileSync(join(CAPTURED, "sub0_event_005.bin"));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const data = Uint8Array.from(base);
        for (const [i, b] of edits) data[i] = b;
        try {
          decodePickle(data);
        } catch (err) {
          if (!(err instanceof PickleDecodeError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("names the source in the error message", () => {
    const e = decodeError(bytes(...PROTO4, 0xff), { source: "SESSION_SETTINGS_SNAPSHOT reply from ezmsg://x:1" });
    expect(e.message).toMatch(/^SESSION_SETTINGS_SNAPSHOT reply from ezmsg:\/\/x:1: pickle decode failed \(unknown_opcode\) at byte 2/);
    expect(e.source).toBe("SESSION_SETTINGS_SNAPSHOT reply from ezmsg://x:1");
  });
});
