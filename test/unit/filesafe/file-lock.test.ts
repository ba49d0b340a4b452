/** The exclusive file lock attach takes (#11): flock(2) through flock(1), dropped when its holder dies. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileBusyError, lockExclusive } from "../../../src/filesafe/file-lock.js";

function file(): string {
  const p = join(mkdtempSync(join(tmpdir(), "lock-")), "rec.nwb");
  writeFileSync(p, "x");
  return p;
}

describe("lockExclusive", () => {
  it("refuses a second holder until the first releases", async () => {
    const p = file();
    const a = await lockExclusive(p);
    await expect(lockExclusive(p)).rejects.toBeInstanceOf(FileBusyError);
    await a.release();
    await a.release(); // idempotent
    const b = await lockExclusive(p);
    await b.release();
  });

  it("sees a shared flock held by another program (as libhdf5 takes for a reader)", async () => {
    const p = file();
    const holder = spawn("flock", ["--shared", p, "sh", "-c", "echo held; exec cat"], { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise<void>((resolve) => holder.stdout!.once("data", () => resolve()));
    await expect(lockExclusive(p)).rejects.toThrow(/open in another program/);
    holder.stdin!.end();
    await new Promise((resolve) => holder.once("close", resolve));
    await (await lockExclusive(p)).release();
  });

  it("is dropped when the process holding it is killed with SIGKILL", async () => {
    const p = file();
    // A separate Node process takes the lock through the built module (npm test builds first), then waits.
    const built = new URL("../../../dist/filesafe/file-lock.js", import.meta.url);
    expect(existsSync(built), "run npm run build first").toBe(true);
    const code = `const { lockExclusive } = await import(${JSON.stringify(built.href)}); await lockExclusive(${JSON.stringify(p)}); console.log("locked"); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    const started = await new Promise<boolean>((resolve) => {
      child.stdout!.on("data", (b: Buffer) => b.toString().includes("locked") && resolve(true));
      child.once("close", () => resolve(false));
    });
    expect(started).toBe(true);
    await expect(lockExclusive(p)).rejects.toBeInstanceOf(FileBusyError);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
    // The pipe closed with its process: the lock holder ends at once.
    let lock: Awaited<ReturnType<typeof lockExclusive>> | undefined;
    for (let i = 0; i < 50 && !lock; i++) {
      lock = await lockExclusive(p).catch(() => undefined);
      if (!lock) await new Promise((r) => setTimeout(r, 20));
    }
    expect(lock).toBeDefined();
    await lock!.release();
  });
});
