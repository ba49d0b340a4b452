/**
 * Worker-thread entry for parallel `convert`: each worker has its own h5wasm instance and
 * converts one log per message.
 */
import { parentPort } from "node:worker_threads";
import { type ConvertOptions, type ConvertResult, convertLog } from "./convert-log.js";

export interface ConvertJob {
  input: string;
  output: string;
  options: ConvertOptions;
}

parentPort?.on("message", (job: ConvertJob) => {
  convertLog(job.input, job.output, job.options).then(
    (result) => parentPort!.postMessage(result),
    (err: unknown) =>
      parentPort!.postMessage({ input: job.input, outputs: [], events: 0, problems: [], error: (err as Error).message } satisfies ConvertResult),
  );
});
