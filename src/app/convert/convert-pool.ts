/**
 * Runs conversions on a pool of worker threads (`--jobs N`). One input's failure never stops the
 * others; results come back in completion order through `onResult`.
 */
import { Worker } from "node:worker_threads";
import type { ConvertResult } from "./convert-log.js";
import type { ConvertJob } from "./convert-worker.js";

const WORKER_URL = new URL("./convert-worker.js", import.meta.url);

export async function runConvertPool(jobs: ConvertJob[], parallel: number, onResult: (r: ConvertResult) => void): Promise<ConvertResult[]> {
  const queue = [...jobs];
  const results: ConvertResult[] = [];
  const size = Math.max(1, Math.min(parallel, jobs.length));
  if (size === 1) {
    // One at a time: convert here. A worker would load every module and HDF5 a second time
    // (~40 MiB and 100+ ms before the first event) for no parallelism.
    const { convertJob } = await import("./convert-log.js");
    for (const job of jobs) {
      const result = await convertJob(job);
      results.push(result);
      onResult(result);
    }
    return results;
  }
  const runWorker = async (): Promise<void> => {
    const worker = new Worker(WORKER_URL);
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const result = await new Promise<ConvertResult>((resolve) => {
          const current = job!;
          const onError = (err: Error): void => resolve({ input: current.input, outputs: [], events: 0, problems: [], error: `worker failed: ${err.message}` });
          worker.once("error", onError);
          worker.once("message", (r: ConvertResult) => {
            worker.off("error", onError);
            resolve(r);
          });
          worker.postMessage(current);
        });
        results.push(result);
        onResult(result);
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: size }, runWorker));
  return results;
}
