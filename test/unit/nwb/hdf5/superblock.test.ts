/** The superblock read without HDF5 (#11 preflight): version, end of file, open-for-write flag. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { h5wasm, loadHdf5 } from "../../../../src/nwb/hdf5/h5wasm.js";
import { isHdf5File, parseSuperblock, readSuperblockInfo } from "../../../../src/nwb/hdf5/superblock.js";

async function h5(libver?: "earliest" | "v110"): Promise<string> {
  await loadHdf5();
  const p = join(mkdtempSync(join(tmpdir(), "sb-")), `f-${libver ?? "default"}.h5`);
  const f = libver ? new h5wasm.File(p, "w", { libver: [libver, "latest"] }) : new h5wasm.File(p, "w");
  f.create_dataset({ name: "x", data: new Float64Array(100) });
  f.close();
  return p;
}

describe("superblock", () => {
  it("reads versions 0 and 2/3 with their end-of-file address", async () => {
    for (const [libver, versions] of [
      ["earliest", [0]],
      [undefined, [2]],
      ["v110", [3]],
    ] as const) {
      const p = await h5(libver);
      const sb = readSuperblockInfo(p);
      expect(versions).toContain(sb.version);
      expect(sb.base).toBe(0n);
      expect(Number(sb.endOfFile)).toBe(sb.fileSize);
      expect(sb.openForWrite).toBe(false);
      expect(isHdf5File(p)).toBe(true);
    }
  });

  it("sees the version 3 open-for-write flag", async () => {
    const p = await h5("v110");
    const b = readFileSync(p);
    b[11] = b[11]! | 1;
    expect(parseSuperblock(b, b.length).openForWrite).toBe(true);
    b[11] = 0b100; // SWMR write
    expect(parseSuperblock(b, b.length).openForWrite).toBe(true);
  });

  it("refuses what it does not know", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-"));
    const p = join(dir, "not.h5");
    writeFileSync(p, "just text, not HDF5 at all, long enough to have a superblock's worth of bytes......");
    expect(isHdf5File(p)).toBe(false);
    expect(() => readSuperblockInfo(p)).toThrow(/no HDF5 signature/);
    const b = Buffer.alloc(96);
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 9]).copy(b);
    expect(() => parseSuperblock(b, 96)).toThrow(/version 9/);
  });
});
