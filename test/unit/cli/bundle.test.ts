/**
 * The bundled CLI (scripts/bundle.mjs, run by `npm run build`) loads HDF5's wasm from
 * dist/hdf5.wasm instead of decoding the copy h5wasm's glue inlines as a 4 MB string. These tests
 * check the bytes are h5wasm's own and that the bundle really carries no inline copy; the
 * conformance suite runs the bin (and so this loading path) against pynwb.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const dist = join(root, "dist");
const scratch = await mkdtemp(join(tmpdir(), "nwbs-bundle-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("the bundled CLI and h5wasm's wasm", () => {
  it("ships exactly the wasm bytes h5wasm's own glue instantiates", async () => {
    // A child process loads the unbundled package and records what it hands to WebAssembly.
    const captured = join(scratch, "captured.wasm");
    const script = `
      const fs = await import("node:fs");
      const original = WebAssembly.instantiate;
      WebAssembly.instantiate = function (bytes, imports) {
        if (bytes.byteLength > 1e6) fs.writeFileSync(${JSON.stringify(captured)}, new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength));
        return original.call(this, bytes, imports);
      };
      await (await import("h5wasm/node")).default.ready;`;
    await run(process.execPath, ["--input-type=module", "-e", script], { cwd: root });
    const [ours, theirs] = await Promise.all([readFile(join(dist, "hdf5.wasm")), readFile(captured)]);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });

  it("prints the package's version (set at build time, not searched for)", async () => {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    const { stdout } = await run(process.execPath, [join(root, "bin", "nwb-settings.js"), "--version"]);
    expect(stdout.trim()).toBe(pkg.version);
    expect(await readFile(join(dist, "nwb-settings.mjs"), "utf8")).not.toContain("__NWBS_VERSION__");
  });

  it("does not list the working directory or its parents at start (yargs's package.json search)", async () => {
    const hook = join(scratch, "count-readdir.cjs");
    await writeFile(
      hook,
      `const fs = require("node:fs"); const real = fs.readdirSync;
       fs.readdirSync = function (...a) { process.stderr.write("READDIR " + a[0] + "\\n"); return real.apply(this, a); };`,
    );
    const cwd = await mkdtemp(join(scratch, "cwd-"));
    const bin = join(root, "bin", "nwb-settings.js");
    const log = join(root, "test", "fixtures", "logs", "nested.jsonl");
    for (const args of [["--version"], ["convert", log, "-o", join(cwd, "out.nwb"), "--time-origin", "raw"]]) {
      const { stderr } = await run(process.execPath, ["--require", hook, bin, ...args], { cwd });
      expect(
        stderr.split("\n").filter((l) => l.startsWith("READDIR")),
        args[0],
      ).toEqual([]);
    }
  });

  it("carries no inline copy of the wasm in any bundled file", async () => {
    const files = (await readdir(dist)).filter((f) => /\.(m?js)$/.test(f));
    const bundled = [];
    for (const f of files) {
      const text = await readFile(join(dist, f), "latin1");
      if (text.includes("findWasmBinary")) bundled.push(f);
      expect(text.includes("binaryDecode('"), f).toBe(false);
      expect((await stat(join(dist, f))).size, f).toBeLessThan(1_000_000);
    }
    // The CLI's lazily loaded h5wasm chunk and convert's worker each bundle the glue.
    expect(bundled).toContain("convert-worker.js");
    expect(bundled.length).toBeGreaterThanOrEqual(2);
  });

  it("writes an HDF5 file through the bundled glue", async () => {
    const out = join(scratch, "out.nwb");
    const log = join(root, "test/fixtures/logs/pipeline.jsonl");
    await run(process.execPath, [join(root, "bin/nwb-settings.js"), "convert", log, "-o", out], { cwd: scratch });
    const head = (await readFile(out)).subarray(0, 8);
    expect(head.equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  });
});
