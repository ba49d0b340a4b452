/**
 * The sample journal round-trips every chunk bit-identical (regular and irregular time, labels),
 * in order with its settings-event tag; a tail torn by a kill mid-write or a corrupted record ends
 * the readable journal there, keeping every record before it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SampleJournalReader, SampleJournalWriter } from "../../../src/journal/sample-journal.js";
import type { SampleChunk } from "../../../src/nwb/stream-writer.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "sample-journal-"));
  dirs.push(d);
  return join(d, "rec.nwb.samples.bin");
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function f32(rows: number, ch: number, seed: number): SampleChunk {
  const a = new Float32Array(rows * ch).map((_, i) => Math.sin(i * 0.37 + seed) * 1e-3);
  return {
    type: "float32",
    bytes: new Uint8Array(a.buffer),
    rows,
    sampleShape: [ch],
    time: { start: 0.1 * seed, rate: 1000 },
    channelLabels: Array.from({ length: ch }, (_, i) => `Ch${i}`),
    unit: "volts",
    conversion: 1e-6,
    offset: 0,
  };
}
function i16ts(rows: number): SampleChunk {
  const a = new Int16Array(rows * 2).map((_, i) => i * 37 - 30000);
  const ts = new Float64Array(rows).map((_, i) => 1.000001 + i * 0.0020000003);
  return { type: "int16", bytes: new Uint8Array(a.buffer), rows, sampleShape: [2], time: { timestamps: ts }, unit: "uV", conversion: 0.195, offset: 0 };
}

describe("SampleJournal", () => {
  it("round-trips chunks bit-identical, in order, with their event tags", () => {
    const path = tmp();
    const w = SampleJournalWriter.create(path, { nwbPath: "rec.nwb", identifier: "id-1", electrodeLocation: "root" });
    const chunks = [f32(100, 8, 1), i16ts(50), f32(3, 8, 2)];
    w.append("A/SIG", 0, chunks[0]!);
    w.append("B/I16", 2, chunks[1]!);
    w.append("A/SIG", 5, chunks[2]!);
    w.close(false);
    const r = SampleJournalReader.open(path);
    expect(r.header).toEqual({ nwbPath: "rec.nwb", identifier: "id-1", electrodeLocation: "root" });
    const got = [...r.records()].filter((g) => g.kind === "chunk");
    r.close();
    expect(r.torn).toBeUndefined();
    expect(got.map((g) => [g.topic, g.events])).toEqual([
      ["A/SIG", 0],
      ["B/I16", 2],
      ["A/SIG", 5],
    ]);
    for (const [i, g] of got.entries()) {
      const c = chunks[i]!;
      expect(Buffer.from(g.chunk.bytes).equals(Buffer.from(c.bytes))).toBe(true);
      expect({ ...g.chunk, bytes: null }).toEqual({ ...c, bytes: null });
    }
  });

  it("a torn tail or a corrupted record ends the journal there; earlier records are intact", () => {
    const path = tmp();
    const w = SampleJournalWriter.create(path, { nwbPath: "rec.nwb", identifier: "id-1" });
    w.append("A", 0, f32(10, 2, 1));
    w.append("A", 0, f32(10, 2, 2));
    w.close(false);
    const whole = readFileSync(path);
    truncateSync(path, whole.length - 5); // a kill in the middle of the last write
    let r = SampleJournalReader.open(path);
    expect([...r.records()].length).toBe(1);
    expect(r.torn?.problem).toMatch(/torn/);
    r.close();
    const bad = Buffer.from(whole);
    bad[bad.length - 3]! ^= 0xff; // a flipped sample byte in the last record
    writeFileSync(path, bad);
    r = SampleJournalReader.open(path);
    expect([...r.records()].length).toBe(1);
    expect(r.torn?.problem).toBe("checksum mismatch");
    r.close();
    writeFileSync(path, "not a journal");
    expect(() => SampleJournalReader.open(path)).toThrow(/not an nwb-settings sample journal/);
  });

  it("refuses to replace an existing journal; a clean close removes it", () => {
    const path = tmp();
    SampleJournalWriter.create(path, { nwbPath: "rec.nwb", identifier: "x" }).close(false);
    expect(() => SampleJournalWriter.create(path, { nwbPath: "rec.nwb", identifier: "y" })).toThrow(/already exists/);
    const w = SampleJournalWriter.create(path, { nwbPath: "rec.nwb", identifier: "y" }, { overwrite: true });
    w.close(true);
    expect(existsSync(path)).toBe(false);
  });
});
