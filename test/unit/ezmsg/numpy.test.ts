/**
 * numpy arrays in every layout numpy 2 pickles (C, F, permuted 'K', in-band strided/negative,
 * 0-d, empty, bool, big-endian, 1–8 byte ints, unicode, object, read-only), framed by ezmsg's own
 * MessageMarshal (test/interop/make_numpy_vectors.py): decoded values equal numpy's C-order bytes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeAxisArray } from "../../../src/ezmsg/axisarray.js";
import { parseTxTcpFrame } from "../../../src/ezmsg/message-marshal.js";
import { NUMPY_REDUCERS, NumpyArray } from "../../../src/ezmsg/numpy.js";
import { decodePickle } from "../../../src/ezmsg/pickle-decoder.js";
import { FIXTURES } from "./helpers.js";

const doc = JSON.parse(readFileSync(join(FIXTURES, "numpy", "vectors.json"), "utf8")) as {
  numpy_version: string;
  vectors: { name: string; frame_b64: string; expected: { dtype: string; shape: number[]; c_order_hex?: string; values?: unknown } }[];
};

function flatten(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flatten) : [v];
}

describe(`numpy ${doc.numpy_version} array layouts`, () => {
  it("covers at least 30 layouts", () => expect(doc.vectors.length).toBeGreaterThanOrEqual(30));
  for (const v of doc.vectors) {
    it(v.name, () => {
      const { buffers } = parseTxTcpFrame(Buffer.from(v.frame_b64, "base64"));
      const m = decodeAxisArray(buffers[0]!, buffers.slice(1));
      if (m.key !== "shared") expect(m.key).toBe(v.name);
      const a = m.data;
      expect(a.dtype.str).toBe(v.expected.dtype);
      expect(a.shape).toEqual(v.expected.shape);
      const c = a.cOrder();
      if (v.expected.c_order_hex !== undefined) {
        expect(ArrayBuffer.isView(c)).toBe(true);
        const view = c as ArrayBufferView;
        expect(Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("hex")).toBe(v.expected.c_order_hex);
      } else {
        expect(Array.from(c as unknown[])).toEqual(flatten(v.expected.values));
      }
    });
  }
});

describe("numpy reducers only join when asked", () => {
  it("without NUMPY_REDUCERS an array stays an inert record", () => {
    const v = doc.vectors.find((x) => x.name.startsWith("2-D C float32"))!;
    const { buffers } = parseTxTcpFrame(Buffer.from(v.frame_b64, "base64"));
    const plain = decodePickle(buffers[0]!, { buffers: buffers.slice(1) });
    expect(plain).not.toBeInstanceOf(NumpyArray);
    const withNumpy = decodePickle(buffers[0]!, { buffers: buffers.slice(1), reducers: NUMPY_REDUCERS });
    expect(withNumpy).not.toBeInstanceOf(NumpyArray); // the AxisArray around it is still a record
  });
  it("a memo reference to one array yields one instance, and maxArrayBytes bounds the copies", () => {
    const s = doc.vectors.find((x) => x.name.includes("(memo)"))!;
    const f = parseTxTcpFrame(Buffer.from(s.frame_b64, "base64"));
    const m = decodeAxisArray(f.buffers[0]!, f.buffers.slice(1));
    expect(m.attrs.get("same")).toBe(m.data);
    expect(m.attrs.get("again")).toBe(m.data);
    const v = doc.vectors.find((x) => x.name.startsWith("2-D C float32"))!;
    const { buffers } = parseTxTcpFrame(Buffer.from(v.frame_b64, "base64"));
    expect(() => decodeAxisArray(buffers[0]!, buffers.slice(1), { maxArrayBytes: 1000 })).toThrow(expect.objectContaining({ code: "limit_exceeded" }));
  });
});
