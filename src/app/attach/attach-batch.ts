/**
 * Many attaches: pairs run `jobs` at a time in this process. An attach is mostly waiting on the
 * disk (copy, fsync, rename) with short stretches of HDF5 work, so concurrency pays off up to the
 * disk's speed; for more CPUs use shards (one process each, `--shard K/N`).
 * Every pair ends attached, partial, refused, failed or empty: none is skipped silently. An abort
 * (Ctrl-C) lets running attaches stop before they replace anything and starts no new ones.
 */
import { type AttachOptions, type AttachResult, attachRecording } from "./attach-recording.js";
import type { AttachPair } from "./manifest.js";

export interface BatchOptions {
  jobs: number;
  signal?: AbortSignal;
  onStart?: (pair: AttachPair) => void;
  onResult?: (result: AttachResult, pair: AttachPair) => void;
  /** Phase markers per recording (tests, progress). */
  onPhase?: (pair: AttachPair, phase: string) => void;
}

export async function attachBatch(
  pairs: readonly AttachPair[],
  options: Omit<AttachOptions, "signal" | "onPhase">,
  batch: BatchOptions,
): Promise<AttachResult[]> {
  const results: AttachResult[] = new Array(pairs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= pairs.length) return;
      const pair = pairs[i]!;
      if (batch.signal?.aborted) {
        results[i] = {
          recording: pair.recording,
          settings: pair.settings,
          status: "failed",
          message: "interrupted before it started; the recording was left unchanged",
          events: 0,
          added: {},
          problems: [],
          leftoversRemoved: [],
        };
      } else {
        batch.onStart?.(pair);
        results[i] = await attachRecording(pair.recording, pair.settings, {
          ...options,
          ...(batch.signal ? { signal: batch.signal } : {}),
          onPhase: (p) => batch.onPhase?.(pair, p),
        });
      }
      batch.onResult?.(results[i]!, pair);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(batch.jobs, pairs.length)) }, worker));
  return results;
}
