/**
 * `GraphClient.updateSettingField` against what ezmsg 3.9's own `GraphContext.update_setting`
 * put on the wire (test/fixtures/ezmsg/update-setting, captured by
 * test/interop/capture_update_setting.py through a recording proxy): the request we send frames
 * exactly like Python's (byte for byte, given the same pickle), our pickle of the update request
 * decodes to the same value as Python's, and the captured replies (ok, UNROUTABLE_UNIT,
 * HANDLER_ERROR) decode to the right results when a fake server plays them back.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GraphClient } from "../../../src/ezmsg/graph-client.js";
import { decodePickle } from "../../../src/ezmsg/pickle-decoder.js";
import { PyTuple, type PickleWritable, settingsFieldUpdateRequest } from "../../../src/ezmsg/pickle-writer.js";
import { Command, encodeCommandWithPayload } from "../../../src/ezmsg/wire.js";
import { FakeGraphServer } from "./fake-server.js";
import { FIXTURES, typed } from "./helpers.js";

const DIR = join(FIXTURES, "update-setting");
const described = JSON.parse(readFileSync(join(DIR, "update_setting.json"), "utf8")) as {
  ezmsg_version: string;
  calls: { name: string; unit: string; field_path: string; ok: boolean; error_code: string | null; error: string | null; structured_value: unknown }[];
};
const VALUES: Record<string, PickleWritable> = { ok: 9n, ok_tuple: new PyTuple([0.5, 2n ** 70n]), collection: 1n, no_field: 1.5 };

/** Split a captured SESSION_PROCESS_REQUEST: command, string args, payload. */
function parseRequest(b: Buffer): { command: number; args: string[]; payload: Buffer } {
  let pos = 1;
  const args: string[] = [];
  for (let i = 0; i < 3; i++) {
    const n = Number(b.readBigUInt64LE(pos));
    args.push(b.subarray(pos + 8, pos + 8 + n).toString("utf8"));
    pos += 8 + n;
  }
  const n = Number(b.readBigUInt64LE(pos));
  expect(pos + 8 + n).toBe(b.length);
  return { command: b[0]!, args, payload: b.subarray(pos + 8) };
}

const servers: FakeGraphServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe("UPDATE_SETTING_FIELD: the wire format of ezmsg 3.9's update_setting", () => {
  it("fixtures come from ezmsg 3.9.0", () => {
    expect(described.ezmsg_version).toBe("3.9.0");
    expect(described.calls.map((c) => c.name)).toEqual(["ok", "ok_tuple", "collection", "no_field"]);
  });

  for (const call of described.calls) {
    it(`${call.name}: our request frames like Python's and our pickle decodes like Python's`, () => {
      const captured = readFileSync(join(DIR, `${call.name}.request.bin`));
      const { command, args, payload } = parseRequest(captured);
      expect(command).toBe(Command.SESSION_PROCESS_REQUEST);
      expect(args).toEqual([call.unit, "UPDATE_SETTING_FIELD", "2.0"]);
      // Same framing: with Python's pickle as payload we produce Python's bytes exactly.
      expect(encodeCommandWithPayload(Command.SESSION_PROCESS_REQUEST, args, payload)).toEqual(captured);
      // Same payload value (Python's pickle has FRAME/MEMOIZE opcodes ours leaves out).
      const ours = settingsFieldUpdateRequest(call.field_path, VALUES[call.name]!);
      expect(typed(decodePickle(ours))).toEqual(typed(decodePickle(payload)));
    });
  }

  it("sends that request and decodes the captured replies: ok with the patched settings, or ezmsg's refusal", async () => {
    const requests: Buffer[] = [];
    const fake = await FakeGraphServer.start(async (c) => {
      await c.acceptSession();
      for (const call of described.calls) {
        // command byte, three strings, u64 length, payload
        const parts = [await c.read(1)];
        for (let i = 0; i < 4; i++) {
          const len = await c.read(8);
          parts.push(len, await c.read(Number(len.readBigUInt64LE(0))));
        }
        requests.push(Buffer.concat(parts));
        c.write(readFileSync(join(DIR, `${call.name}.reply.bin`)));
      }
    });
    servers.push(fake);
    const client = await GraphClient.connect(fake.address, { requestTimeoutMs: 5000, onWarning: () => {} });
    try {
      const results = [];
      for (const call of described.calls) results.push(await client.updateSettingField(call.unit, call.field_path, VALUES[call.name]!, 2.0));
      expect(results[0]).toMatchObject({ ok: true });
      const v = (results[0] as { value: { structured_value: Map<string, unknown> } }).value.structured_value;
      expect((v.get("spec") as Map<string, unknown>).get("order")).toBe(9n);
      expect(results[1]).toMatchObject({ ok: true });
      expect((results[1] as { value: { structured_value: Map<string, unknown> } }).value.structured_value.get("taps")).toEqual([0.5, 2n ** 70n]);
      expect(results[2]).toEqual({ ok: false, errorCode: "UNROUTABLE_UNIT", error: described.calls[2]!.error });
      expect(results[3]).toEqual({ ok: false, errorCode: "HANDLER_ERROR", error: described.calls[3]!.error });
      expect(described.calls[3]!.error).toMatch(/nope/);
    } finally {
      await client.close();
    }
    // What we sent, request by request: the same command, arguments and (decoded) payload.
    for (const [i, call] of described.calls.entries()) {
      const ours = parseRequest(requests[i]!);
      const theirs = parseRequest(readFileSync(join(DIR, `${call.name}.request.bin`)));
      expect(ours.args).toEqual(theirs.args);
      expect(typed(decodePickle(ours.payload))).toEqual(typed(decodePickle(theirs.payload)));
    }
  });
});
