/**
 * Worker-thread entry for parallel `convert`: each worker has its own h5wasm instance and
 * converts one log per message.
 */
import { parentPort } from "node:worker_threads";
import { type ConvertOptions, convertJob } from "./convert-log.js";

export interface ConvertJob {
  input: string;
  output: string;
  options: ConvertOptions;
}

parentPort?.on("message", (job: ConvertJob) => {
  void convertJob(job).then((result) => parentPort!.postMessage(result));
});
