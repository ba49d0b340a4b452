/**
 * AxisArray payloads from ezmsg 3.10.0b5 (test/interop/make_ezmsg310_vectors.py): 3.10 pickles a
 * `stream_dim` and a CoordinateAxis' cached `_fingerprint` (a tuple with a numpy dtype). They decode
 * to the values the publisher held, and the declared stream_dim is the time axis of the chunk the
 * recorder writes (moved first), not the dim that happens to be first.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { axisArrayToChunk } from "../../../src/app/record/axisarray-chunk.js";
import { type CoordinateAxis, LinearAxis, decodeAxisArray } from "../../../src/ezmsg/axisarray.js";
import { parseMarshalPayload } from "../../../src/ezmsg/message-marshal.js";
import { FIXTURES } from "./helpers.js";

const DIR = join(FIXTURES, "axisarray310");

function load(name: string) {
  const payload = readFileSync(join(DIR, `${name}.payload`));
  const want = JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8")) as {
    ezmsg_version: string;
    msg_id: number;
    dims: string[];
    stream_dim: string | null;
    dtype: string;
    shape: number[];
    sha256: string;
    gain: number;
    offset: number;
    labels: string[] | null;
  };
  const { msgId, buffers } = parseMarshalPayload(payload);
  return { msgId, msg: decodeAxisArray(buffers[0]!, buffers.slice(1)), want };
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("ezmsg 3.10.0b5 AxisArray payloads", () => {
  it.each(["stream_dim_second", "no_stream_dim"])("%s decodes to what the publisher held", (name) => {
    const { msgId, msg, want } = load(name);
    expect(want.ezmsg_version).toBe("3.10.0b5");
    expect(msgId).toBe(BigInt(want.msg_id));
    expect(msg.dims).toEqual(want.dims);
    expect(msg.streamDim).toBe(want.stream_dim);
    expect(msg.data.dtype.str).toBe(want.dtype);
    expect(msg.data.shape).toEqual(want.shape);
    const c = msg.data.cOrder() as Float32Array | Int16Array;
    expect(sha(new Uint8Array(c.buffer, c.byteOffset, c.byteLength))).toBe(want.sha256);
    const t = msg.axes.get(want.stream_dim ?? "time") as LinearAxis;
    expect(t).toBeInstanceOf(LinearAxis);
    expect([t.gain, t.offset]).toEqual([want.gain, want.offset]);
    expect((msg.axes.get("ch") as CoordinateAxis).data.cOrder()).toEqual(want.labels);
  });

  it("the declared stream_dim is the chunk's time axis, moved first", () => {
    const { msg, want } = load("stream_dim_second");
    const chunk = axisArrayToChunk(msg, (t) => t - 1700000000);
    if ("skip" in chunk) throw new Error(chunk.skip);
    expect(chunk.rows).toBe(6);
    expect(chunk.sampleShape).toEqual([4]);
    expect(chunk.time).toEqual({ start: 0.25, rate: 1 / want.gain });
    expect(chunk.channelLabels).toEqual(want.labels);
    // time-first bytes = the transpose of the publisher's (ch, samp) array
    const src = msg.data.cOrder() as Float32Array;
    const out = new Float32Array(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength / 4);
    for (let s = 0; s < 6; s++) for (let ch = 0; ch < 4; ch++) expect(out[s * 4 + ch]).toBe(src[ch * 6 + s]);
  });
});
