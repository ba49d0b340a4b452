/**
 * vitest's global set-up: every test's temporary files (os.tmpdir(), also in the child processes
 * tests start) go under one folder of this run, removed when the run ends. Tests that leave files
 * behind on purpose (a killed recorder's journal, a refused output kept for inspection) then
 * cannot fill the machine's temporary folder run after run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "nwbs-vitest-"));
  process.env["TMPDIR"] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
