/**
 * {@link readEventLog} with the reading on a second thread: for a long log the converting thread
 * then spends its time writing while the other reads, splits, decodes and checks the next lines
 * (about 40% of a one-thread conversion of JSON rows; docs/benchmarks.md). Same records, same
 * order, same errors and progress as {@link readEventLog}, which stays the reader for short logs
 * (a thread costs ~30 ms and ~10 MiB to start) and inside a worker thread (where `convert --jobs`
 * keeps every core busy already).
 */
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread } from "node:worker_threads";
import type { ReadLogOptions } from "../../events/jsonl-lines.js";
import { type LogRecord, readEventLog } from "./jsonl-log.js";
import type { ReaderJob, ReaderMessage } from "./jsonl-log-worker.js";
import { takeRecords } from "./jsonl-log-wire.js";

const WORKER_URL = new URL("./jsonl-log-worker.js", import.meta.url);

/**
 * Whether the reading thread's module is there: it is in a build (dist/, the bundle); code run
 * from its TypeScript source (the unit tests) reads in one thread.
 */
function workerBuilt(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

/** Logs from this size on are read on a second thread. */
export const READ_AHEAD_BYTES = 8 << 20;

const BATCH_RECORDS = 512;

export interface ReadAheadOptions extends ReadLogOptions {
  /** Read on a second thread: "auto" (default) for a long log in the main thread of a build, or always/never. */
  thread?: "auto" | "always" | "never";
}

export async function* readEventLogAhead(path: string, options: ReadAheadOptions = {}): AsyncGenerator<LogRecord> {
  const { thread = "auto", ...read } = options;
  const ahead = thread === "always" || (thread === "auto" && isMainThread && workerBuilt() && (await stat(path)).size >= READ_AHEAD_BYTES);
  if (!ahead) {
    yield* readEventLog(path, read);
    return;
  }
  const job: ReaderJob = { path, batchRecords: BATCH_RECORDS, ...(read.maxLineBytes !== undefined ? { maxLineBytes: read.maxLineBytes } : {}) };
  // A young generation of 2 MiB (V8's default grows to 32): what the thread allocates per line dies
  // young, and peak memory measured 8 MiB above reading in one thread instead of 50.
  const worker = new Worker(WORKER_URL, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 2 } });
  const inbox: ReaderMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  worker.on("message", (m: ReaderMessage) => {
    inbox.push(m);
    wake?.();
  });
  worker.on("error", (err) => {
    failure = err;
    wake?.();
  });
  worker.on("exit", (code) => {
    failure ??= new Error(`the log reader thread stopped (exit code ${code}) before the end of ${path}`);
    wake?.();
  });
  try {
    for (;;) {
      while (inbox.length === 0) {
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      const m = inbox.shift()!;
      if ("done" in m) return;
      if ("error" in m) throw Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {});
      worker.postMessage("more");
      yield* takeRecords(m.batch);
      read.onBytes?.(m.batch.bytesRead);
    }
  } finally {
    worker.removeAllListeners("exit");
    void worker.terminate();
  }
}
