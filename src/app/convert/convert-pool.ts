/**
 * Runs conversions on a pool of worker threads (`--jobs N`). Every input ends with a result,
 * whatever happens to its worker:
 * - a worker that dies (its heap limit reached, an uncaught error, a native abort of the thread)
 *   fails its input with the reason, its temporary files are removed, and it is replaced by a new
 *   worker for the next input; it is never reused;
 * - an interrupted run (`signal`) terminates the workers, removes their temporary files and fails
 *   the inputs not finished with "interrupted".
 * One input's failure never stops the others; results come back in completion order.
 */
import { readdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { isStagedName } from "../../output/segmented-output.js";
import type { ConvertResult } from "./convert-log.js";
import type { ConvertJob, WorkerMessage } from "./convert-worker.js";

const WORKER_URL = new URL("./convert-worker.js", import.meta.url);

export interface PoolOptions {
  /** Workers at once. */
  parallel: number;
  /** V8 heap limit of each worker in MiB (`resourceLimits.maxOldGenerationSizeMb`). */
  heapLimitMb?: number;
  onResult?: (r: ConvertResult) => void;
  /** Bytes read of one input (0 … total) as it goes. */
  onProgress?: (input: string, done: number, total: number) => void;
  /** Abort: finished outputs stay, unfinished ones leave nothing. */
  signal?: AbortSignal;
  /**
   * With one job at a time, convert in this thread instead of a worker (faster start, less
   * memory). The caller sets it only when this thread's own heap may serve as the limit (no
   * `--max-memory`): a worker's death is survivable, this thread's is not.
   */
  inThread?: boolean;
}

/** Remove the temporary files of one job (a worker that died cannot do it). */
async function removeStaged(job: ConvertJob): Promise<void> {
  const tag = job.options.tag;
  if (!tag) return;
  const dir = dirname(job.output);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (isStagedName(n, tag)) await unlink(join(dir, n)).catch(() => undefined);
}

function deathReason(err: Error | undefined, exitCode: number | undefined, heapLimitMb: number | undefined): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ERR_WORKER_OUT_OF_MEMORY") {
    return `ran out of memory (the worker's heap limit is ${heapLimitMb ?? "the default"} MiB; give --max-memory more, or split the log); nothing was written`;
  }
  if (err) return `the conversion crashed (${err.message}); nothing was written`;
  return `the worker stopped unexpectedly (exit code ${exitCode}); nothing was written`;
}

export async function runConvertPool(jobs: ConvertJob[], options: PoolOptions): Promise<ConvertResult[]> {
  const queue = [...jobs];
  const results: ConvertResult[] = [];
  const size = Math.max(1, Math.min(options.parallel, jobs.length));
  const live = new Set<Worker>();
  const finish = (r: ConvertResult): void => {
    results.push(r);
    options.onResult?.(r);
  };
  const failAll = (reason: string): void => {
    for (let job = queue.shift(); job; job = queue.shift()) finish({ input: job.input, outputs: [], events: 0, problems: [], error: reason });
  };
  const onAbort = (): void => {
    failAll("interrupted before it started; nothing was written");
    for (const w of live) void w.terminate();
  };
  if (size === 1 && options.inThread) {
    // One at a time: convert here. A worker would load every module and HDF5 a second time
    // (~40 MiB and 100+ ms before the first event) for no parallelism.
    const { convertJob } = await import("./convert-log.js");
    for (const job of jobs) {
      if (options.signal?.aborted) {
        finish({ input: job.input, outputs: [], events: 0, problems: [], error: "interrupted before it started; nothing was written" });
        continue;
      }
      const hooks = {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (done: number, total: number) => options.onProgress?.(job.input, done, total),
      };
      finish(await convertJob(job, hooks));
    }
    return results;
  }
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const newWorker = (): Worker => {
    const w = new Worker(WORKER_URL, options.heapLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: options.heapLimitMb } } : {});
    live.add(w);
    return w;
  };

  const runSlot = async (): Promise<void> => {
    let worker: Worker | undefined;
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        if (options.signal?.aborted) {
          finish({ input: job.input, outputs: [], events: 0, problems: [], error: "interrupted before it started; nothing was written" });
          continue;
        }
        if (!worker) worker = newWorker();
        const w = worker;
        const current = job;
        const outcome = await new Promise<{ result: ConvertResult; dead: boolean }>((resolve) => {
          let error: Error | undefined;
          const cleanup = (): void => {
            w.off("message", onMessage);
            w.off("error", onError);
            w.off("exit", onExit);
            options.signal?.removeEventListener("abort", onAbortJob);
          };
          const onMessage = (m: WorkerMessage): void => {
            if (m.type === "progress") {
              options.onProgress?.(current.input, m.done, m.total);
              return;
            }
            cleanup();
            resolve({ result: m.result, dead: false });
          };
          const onError = (err: Error): void => {
            error = err; // 'exit' follows
          };
          const onExit = (code: number): void => {
            cleanup();
            const reason = options.signal?.aborted ? "interrupted; nothing was written" : deathReason(error, code, options.heapLimitMb);
            resolve({ result: { input: current.input, outputs: [], events: 0, problems: [], error: reason }, dead: true });
          };
          const onAbortJob = (): void => {
            void w.terminate();
          };
          w.on("message", onMessage);
          w.on("error", onError);
          w.on("exit", onExit);
          options.signal?.addEventListener("abort", onAbortJob, { once: true });
          w.postMessage(current);
        });
        if (outcome.dead) {
          live.delete(w);
          worker = undefined; // never reused: the next input gets a fresh worker
          await removeStaged(current);
        }
        finish(outcome.result);
      }
    } finally {
      if (worker) {
        live.delete(worker);
        await worker.terminate();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: size }, runSlot));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  return results;
}
