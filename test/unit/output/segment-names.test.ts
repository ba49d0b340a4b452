/**
 * Which files belong to an output (by identifier, contiguous from _01), and staged outputs that
 * are renamed into place only when complete (#13).
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readRawLines } from "../../../src/events/jsonl-lines.js";
import { existingOutputFiles, readNwbIdentifier, segmentsOf } from "../../../src/output/segment-names.js";
import { OutputError, SegmentedOutput } from "../../../src/output/segmented-output.js";

const meta = { session_description: "segment names test" };

async function writeOutput(base: string, segments: number, identifier: string, staged?: string): Promise<SegmentedOutput> {
  const out = new SegmentedOutput(base, { ...meta, identifier }, staged ? { staged: { tag: staged } } : {});
  for (let i = 0; i < segments; i++) {
    await (i === 0 ? out.current() : out.rotate());
    out.countRows(1);
  }
  await out.close();
  return out;
}

describe("segments are recognised by what they are", () => {
  it("takes _01, _02 … with the same identifier, never a file merely named like a segment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "segnames-"));
    const base = join(dir, "session.nwb");
    await writeOutput(base, 3, "id-1");
    await writeOutput(join(dir, "other.nwb"), 1, "id-2");
    writeFileSync(join(dir, "session_2024.nwb"), "not an NWB file");
    expect(await readNwbIdentifier(base)).toBe("id-1");
    expect(await segmentsOf(base)).toEqual([join(dir, "session_01.nwb"), join(dir, "session_02.nwb")]);
    expect(await existingOutputFiles(base)).toHaveLength(3);
    expect(await segmentsOf(join(dir, "other.nwb"))).toEqual([]);
    expect(await readNwbIdentifier(join(dir, "session_2024.nwb"))).toBeUndefined();
  });

  it("a staged output is invisible until commit, and abort leaves nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "staged-"));
    const base = join(dir, "run.nwb");
    writeFileSync(base, "previous");
    const out = await writeOutput(base, 2, "id-3", "t1");
    expect(readFileSync(base, "utf8")).toBe("previous");
    expect(readdirSync(dir).filter((n) => n.endsWith(".t1.partial")).length).toBe(2);
    await expect(out.commit(false)).rejects.toThrow(/already exists; use --overwrite/);
    expect(readdirSync(dir)).toEqual(["run.nwb"]); // a refused commit removes the staged files
    const again = await writeOutput(base, 2, "id-3", "t2");
    expect(await again.commit(true)).toEqual([base, join(dir, "run_01.nwb")]);
    expect(readdirSync(dir).sort()).toEqual(["run.nwb", "run_01.nwb"]);
    expect(await readNwbIdentifier(join(dir, "run_01.nwb"))).toBe("id-3");
  });

  it("refuses to commit onto a file that is not part of the output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "staged-"));
    const base = join(dir, "run.nwb");
    writeFileSync(join(dir, "run_01.nwb"), "someone else's");
    const out = await writeOutput(base, 2, "id-4", "t3");
    await expect(out.commit(true)).rejects.toThrow(OutputError);
    expect(readdirSync(dir)).toEqual(["run_01.nwb"]);
    expect(readFileSync(join(dir, "run_01.nwb"), "utf8")).toBe("someone else's");
  });
});

describe("line limit", () => {
  it("skips an over-long line as it streams, reporting its length, and keeps the lines around it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lines-"));
    const path = join(dir, "log.jsonl");
    writeFileSync(path, `a\n${"x".repeat(5000)}\nb\n${"y".repeat(3000)}`);
    const lines = [];
    for await (const l of readRawLines(path, 1024, { maxLineBytes: 2000 }))
      lines.push({ line: l.line, text: Buffer.from(l.bytes).toString(), tooLong: l.tooLong });
    expect(lines).toEqual([
      { line: 1, text: "a", tooLong: undefined },
      { line: 2, text: "", tooLong: 5000 },
      { line: 3, text: "b", tooLong: undefined },
      { line: 4, text: "", tooLong: 3000 },
    ]);
  });
});
