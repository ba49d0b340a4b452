/**
 * AxisArray messages captured from a real ezmsg 3.9.0 pipeline (numpy 2.4.6): every frame decodes
 * to exactly the values the publisher pickled (the sidecar .json was written by Python from the
 * object itself), and damaged frames are rejected with a coded error, never a crash.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AxisArray, CoordinateAxis, LinearAxis, decodeAxisArray } from "../../../src/ezmsg/axisarray.js";
import { MessageFrameError, parseTxTcpFrame } from "../../../src/ezmsg/message-marshal.js";
import type { NumpyArray } from "../../../src/ezmsg/numpy.js";
import { PickleDecodeError } from "../../../src/ezmsg/pickle-decoder.js";
import type { PickleValue } from "../../../src/ezmsg/pickle-values.js";
import { FIXTURES } from "./helpers.js";

const DIR = join(FIXTURES, "axisarray");
const frames = readdirSync(DIR)
  .filter((f) => f.endsWith(".bin"))
  .sort();

interface ExpectedArray {
  dtype: string;
  shape: number[];
  values: unknown;
  sha256_of_c_order_bytes?: string;
}

function decodeFrame(bytes: Uint8Array): AxisArray {
  const { buffers } = parseTxTcpFrame(bytes);
  return decodeAxisArray(buffers[0]!, buffers.slice(1));
}

/** Nest row-major values by shape, as Python's tolist() does. */
function nest(flat: unknown[], shape: number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [n, ...rest] = shape;
  const step = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), rest));
}

function plain(v: PickleValue | undefined): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : { bigint: v.toString() };
  if (v instanceof Uint8Array) return { bytes_hex: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  return v;
}

/** The sidecar's typed forms → what our decoder gives (tuples are arrays; numpy scalars are numbers). */
function expectedPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expectedPlain);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("tuple" in o) return expectedPlain(o.tuple);
    if ("numpy_scalar" in o) return o.value;
    if ("bigint" in o || "bytes_hex" in o) return o;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, expectedPlain(x)]));
  }
  return v;
}

function checkArray(a: NumpyArray, e: ExpectedArray): void {
  expect(a.dtype.str).toBe(e.dtype);
  expect(a.shape).toEqual(e.shape);
  const values = Array.from(a.cOrder() as ArrayLike<unknown>);
  expect(nest(values, a.shape)).toEqual(e.values);
  if (e.sha256_of_c_order_bytes !== undefined && ArrayBuffer.isView(a.data)) {
    const c = a.cOrder() as ArrayBufferView;
    const bytes = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(e.sha256_of_c_order_bytes);
  }
}

describe("AxisArray frames captured from ezmsg 3.9.0", () => {
  it("has the 32 captured frames", () => {
    expect(frames.length).toBe(32);
  });
  for (const f of frames) {
    it(`${f} decodes to the publisher's values`, () => {
      const side = JSON.parse(readFileSync(join(DIR, f.replace(/\.bin$/, ".json")), "utf8")) as {
        layout: { msg_id: { value: number }; payload_header: { buffer_lengths: { value: number[] } } };
        expected: {
          dims: string[];
          data: ExpectedArray;
          axes: Record<string, { class: string; unit: string; gain?: number; offset?: unknown; dims?: string[]; data?: ExpectedArray }>;
          attrs: Record<string, unknown>;
          key: string;
        };
      };
      const bytes = readFileSync(join(DIR, f));
      const { msgId, buffers } = parseTxTcpFrame(bytes);
      expect(msgId).toBe(BigInt(side.layout.msg_id.value));
      expect(buffers.map((b) => b.length)).toEqual(side.layout.payload_header.buffer_lengths.value);
      const m = decodeAxisArray(buffers[0]!, buffers.slice(1));
      const e = side.expected;
      expect(m).toBeInstanceOf(AxisArray);
      expect(m.dims).toEqual(e.dims);
      checkArray(m.data, e.data);
      expect([...m.axes.keys()].sort()).toEqual(Object.keys(e.axes).sort());
      for (const [name, ea] of Object.entries(e.axes)) {
        const a = m.axes.get(name)!;
        expect(a.unit).toBe(ea.unit);
        if (ea.class.endsWith("LinearAxis")) {
          expect(a).toBeInstanceOf(LinearAxis);
          expect((a as LinearAxis).gain).toBe(ea.gain);
          expect((a as LinearAxis).offset).toBe(expectedPlain(ea.offset));
        } else {
          expect(a).toBeInstanceOf(CoordinateAxis);
          expect((a as CoordinateAxis).dims).toEqual(ea.dims);
          checkArray((a as CoordinateAxis).data, ea.data!);
        }
      }
      expect(plain(m.attrs)).toEqual(expectedPlain(e.attrs));
      expect(m.key).toBe(e.key);
    });
  }

  it("reads an int16 stream's time offset from a numpy float64 scalar", () => {
    const m = decodeFrame(readFileSync(join(DIR, "I16_run1_0003.bin")));
    const t = m.axes.get("time") as LinearAxis;
    expect(t.offset).toBe(1700000000.3);
    expect(t.value(10)).toBeCloseTo(1700000000.3 + 10 * 0.002, 9);
    expect(m.data.dtype.name).toBe("int16");
    expect(m.data.data).toBeInstanceOf(Int16Array);
  });

  it("keeps the F-order and permuted layouts as views over memory order (no copy until asked)", () => {
    const f = decodeFrame(readFileSync(join(DIR, "VAR_run1_0000.bin")));
    expect(f.data.isCContiguous).toBe(false);
    expect(f.data.array.stride).toEqual([1, 20]);
    const k = decodeFrame(readFileSync(join(DIR, "VAR_run1_0003.bin")));
    expect(k.data.shape).toEqual([5, 3, 4]);
    expect(k.data.isCContiguous).toBe(false);
    const c = decodeFrame(readFileSync(join(DIR, "SIG_run1_0000.bin")));
    expect(c.data.isCContiguous).toBe(true);
    expect(c.data.cOrder()).toBe(c.data.data);
  });

  it("decodes a forwarded frame (READONLY_BUFFER) to the same values as the original", () => {
    const a = decodeFrame(readFileSync(join(DIR, "I16_run1_0002.bin")));
    const b = decodeFrame(readFileSync(join(DIR, "FWD_run1_0002.bin")));
    expect(Array.from(b.data.data as Int16Array)).toEqual(Array.from(a.data.data as Int16Array));
  });
});

function rejection(bytes: Uint8Array): PickleDecodeError | MessageFrameError | null {
  try {
    decodeFrame(bytes);
    return null;
  } catch (err) {
    if (err instanceof PickleDecodeError || err instanceof MessageFrameError) return err;
    throw err;
  }
}

describe("damaged AxisArray frames are rejected with a coded error", () => {
  const sig = new Uint8Array(readFileSync(join(DIR, "SIG_run1_0000.bin")));

  it("every truncation of a frame", () => {
    for (let n = 0; n < sig.length; n += n < 600 ? 1 : 97) {
      const err = rejection(sig.subarray(0, n));
      expect(err, `cut at ${n}`).not.toBeNull();
      expect(["truncated", "size_mismatch"]).toContain(err!.code);
    }
  });

  it("frame header, payload header and buffer table damage", () => {
    const cases: [string, (b: Uint8Array) => void, string][] = [
      ["command byte", (b) => (b[0] = 0x0c), "bad_command"],
      ["preamble", (b) => (b[17] = 0x46), "bad_preamble"],
      ["payload msg_id", (b) => (b[19] = b[19]! ^ 1), "msg_id_mismatch"],
      ["n_buffers 0", (b) => b.fill(0, 27, 35), "bad_buffer_count"],
      ["n_buffers huge", (b) => (b[34] = 0x7f), "bad_buffer_count"],
      ["n_buffers one less", (b) => (b[27] = b[27]! - 1), "size_mismatch"],
      ["pickle length +1", (b) => (b[35] = b[35]! + 1), "size_mismatch"],
      ["data buffer length -4 (payload size kept)", (b) => (b[43] = b[43]! - 4), "size_mismatch"],
    ];
    for (const [name, damage, code] of cases) {
      const b = new Uint8Array(sig);
      damage(b);
      expect(rejection(b)?.code, name).toBe(code);
    }
  });

  it("a data buffer whose length does not match the array's shape", () => {
    const { buffers } = parseTxTcpFrame(sig);
    const short = buffers[1]!.subarray(0, buffers[1]!.length - 4);
    expect(() => decodeAxisArray(buffers[0]!, [short, buffers[2]!])).toThrow(expect.objectContaining({ code: "bad_array" }));
    expect(() => decodeAxisArray(buffers[0]!, [buffers[1]!])).toThrow(expect.objectContaining({ code: "missing_buffer" }));
    expect(() => decodeAxisArray(buffers[0]!, [...buffers.slice(1), new Uint8Array(1)])).toThrow(expect.objectContaining({ code: "unused_buffer" }));
  });

  it("every single-byte change in the pickle stream: a coded error or a well-formed AxisArray, never a crash", () => {
    const { buffers } = parseTxTcpFrame(sig);
    const stream = buffers[0]!;
    let rejected = 0;
    for (let i = 0; i < stream.length; i++) {
      for (const x of [0x00, 0xff, stream[i]! ^ 0x01]) {
        const s = new Uint8Array(stream);
        if (s[i] === x) continue;
        s[i] = x;
        try {
          const m = decodeAxisArray(s, buffers.slice(1));
          expect(m.dims.length).toBe(m.data.ndim);
        } catch (err) {
          expect(err).toBeInstanceOf(PickleDecodeError);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(stream.length);
  });

  it("a pickle that is not an AxisArray", () => {
    const notAxis = Uint8Array.from([0x80, 5, 0x4e, 0x2e]);
    expect(() => decodeAxisArray(notAxis, [])).toThrow(expect.objectContaining({ code: "bad_axisarray" }));
  });
});
