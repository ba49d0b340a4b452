/**
 * An exclusive, advisory lock on a file that other programs see: `flock(2)` LOCK_EX, the lock the
 * HDF5 library itself takes (HDF5 ≥ 1.10 locks every file it opens with flock: shared for a reader,
 * exclusive for a writer; h5py, pynwb, MATLAB and acquisition programs built on libhdf5 all do).
 * So taking LOCK_EX without waiting fails while any of them has the file open, and they fail to open
 * it while we hold it.
 *
 * Node has no flock. The lock is held by a child process, util-linux's `flock(1)` (on every Linux
 * distribution), which opens the file read-only, takes LOCK_EX | LOCK_NB and then runs `cat`, which
 * waits for its standard input, a pipe from us. When we release the lock, or when this process dies
 * in any way (kill -9 included), the pipe closes, `cat` ends, `flock` exits and the kernel drops the
 * lock. A native addon (fs-ext) would need a compiler at install time and is not maintained; a lock
 * *file* (mkdir, O_EXCL) is invisible to HDF5 programs and survives a kill -9.
 *
 * This module knows files, nothing of NWB or events.
 */
import { type ChildProcess, spawn } from "node:child_process";

/** Exit status flock(1) uses (`-E`) when the lock is held by someone else. */
const BUSY_STATUS = 75;

export class FileBusyError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "FileBusyError";
  }
}

export interface FileLock {
  readonly path: string;
  /** Release the lock (idempotent); resolves once the kernel has dropped it. */
  release(): Promise<void>;
}

/**
 * Take an exclusive lock on `path` (an existing file) or throw {@link FileBusyError} at once when
 * another process holds a lock on it. Other errors (no `flock` program, unreadable file) are thrown
 * as plain errors naming the file.
 */
export async function lockExclusive(path: string): Promise<FileLock> {
  let child: ChildProcess;
  try {
    child = spawn("flock", ["--exclusive", "--nonblock", "--conflict-exit-code", String(BUSY_STATUS), "--no-fork", path, "sh", "-c", "echo locked; exec cat"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    throw new Error(`cannot lock ${path}: ${(err as Error).message}`);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("close", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });
  const locked = await new Promise<boolean>((resolve) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("locked")) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!locked) {
    const code = await exited;
    if (code === BUSY_STATUS)
      throw new FileBusyError(path, `${path} is open in another program (an HDF5 reader or writer such as h5py/pynwb, or another attach)`);
    if (spawnError) {
      const missing = (spawnError as NodeJS.ErrnoException).code === "ENOENT";
      throw new Error(`cannot lock ${path}: ${missing ? "the flock program (util-linux) is not installed" : spawnError.message}`);
    }
    throw new Error(`cannot lock ${path}: ${stderr.trim() || `flock exited with status ${code}`}`);
  }
  // Holding the lock must not keep the event loop alive (a forgotten release would hang the
  // process); it cannot outlive us either: our end closes the pipe.
  const streams = [child.stdin, child.stdout, child.stderr] as unknown as { ref?: () => void; unref?: () => void }[];
  child.unref();
  for (const s of streams) s.unref?.();
  let released: Promise<void> | undefined;
  return {
    path,
    release(): Promise<void> {
      released ??= (async () => {
        // Waiting for the exit must keep the process alive until the kernel has dropped the lock.
        child.ref();
        for (const s of streams) s.ref?.();
        child.stdin!.end();
        await exited;
      })();
      return released;
    },
  };
}
