/**
 * Worker-thread entry of {@link readEventLogAhead}: reads and checks one JSONL event log with
 * {@link readEventLog} and posts its records in batches, at most {@link IN_FLIGHT} batches ahead of
 * what the reading thread has taken (so memory stays bounded whatever the log's length).
 *
 * Messages in: `{ path, options }` once (workerData), then `"more"` per batch taken.
 * Messages out: `{ batch }`, then `{ done: true }`, or `{ error: { message, code } }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ReadLogOptions } from "../../events/jsonl-lines.js";
import { readEventLog } from "./jsonl-log.js";
import { type RecordBatch, newBatch, putRecord } from "./jsonl-log-wire.js";

export interface ReaderJob {
  path: string;
  maxLineBytes?: number;
  batchRecords: number;
}

export type ReaderMessage = { batch: RecordBatch } | { done: true } | { error: { message: string; code?: string } };

/** Batches posted and not yet taken, at most. */
export const IN_FLIGHT = 2;

async function run(job: ReaderJob): Promise<void> {
  const port = parentPort!;
  let credits = IN_FLIGHT;
  let wake: (() => void) | undefined;
  port.on("message", () => {
    credits++;
    wake?.();
  });
  let bytesRead = 0;
  // 64 KiB reads: this thread's memory is its read buffer, the lines of a batch and the batches
  // in flight, whatever the log's length.
  const options: ReadLogOptions = {
    onBytes: (n) => (bytesRead = n),
    chunkBytes: 64 << 10,
    ...(job.maxLineBytes !== undefined ? { maxLineBytes: job.maxLineBytes } : {}),
  };
  let batch = newBatch();
  const send = async (): Promise<void> => {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    credits--;
    batch.bytesRead = bytesRead;
    port.postMessage({ batch } satisfies ReaderMessage);
    batch = newBatch();
  };
  try {
    for await (const rec of readEventLog(job.path, options)) {
      putRecord(batch, rec);
      if (batch.kinds.length >= job.batchRecords) await send();
    }
    if (batch.kinds.length > 0) await send();
    port.postMessage({ done: true } satisfies ReaderMessage);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ error: { message: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) } } satisfies ReaderMessage);
  }
  port.close();
}

void run(workerData as ReaderJob);
