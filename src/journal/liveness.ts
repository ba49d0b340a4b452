/**
 * Is the process that wrote a journal still running? The header names its pid and host
 * (`writer`); a journal with a clean-close line is finished whatever the pid says.
 *
 * On the same host: `kill(pid, 0)` tells whether a process with that pid exists; where /proc is
 * available its command line must also be a Node.js process, so a pid reused by an unrelated
 * program after a crash is not taken for the recorder. On another host it cannot be known.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { JournalWriterId } from "./format.js";

export type WriterLiveness = "alive" | "gone" | "unknown";

export function thisWriter(): JournalWriterId {
  return { pid: process.pid, host: hostname() };
}

export function writerLiveness(writer: JournalWriterId | undefined): WriterLiveness {
  if (!writer) return "unknown";
  if (writer.host !== hostname()) return "unknown";
  if (writer.pid === process.pid) return "alive";
  try {
    process.kill(writer.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return "gone";
  }
  try {
    const cmd = readFileSync(`/proc/${writer.pid}/cmdline`, "latin1");
    return /node|nwb-settings/i.test(cmd) ? "alive" : "gone";
  } catch {
    return "alive"; // no /proc: the pid exists, assume it is the recorder
  }
}
