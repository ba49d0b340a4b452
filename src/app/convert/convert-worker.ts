/**
 * Worker-thread entry for parallel `convert`: each worker has its own h5wasm instance and
 * converts one log per message, reporting progress as it reads.
 */
import { parentPort } from "node:worker_threads";
import { type ConvertOptions, type ConvertResult, convertJob } from "./convert-log.js";

export interface ConvertJob {
  input: string;
  output: string;
  options: ConvertOptions;
}

export type WorkerMessage = { type: "progress"; done: number; total: number } | { type: "result"; result: ConvertResult };

const PROGRESS_EVERY_MS = 200;

parentPort?.on("message", (job: ConvertJob) => {
  let last = 0;
  const onProgress = (done: number, total: number): void => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    parentPort!.postMessage({ type: "progress", done, total } satisfies WorkerMessage);
  };
  void convertJob(job, { onProgress }).then((result) => parentPort!.postMessage({ type: "result", result } satisfies WorkerMessage));
});
