/** Reconnect delays: exponential, bounded, jittered; and a sleep that an AbortSignal cuts short. */

export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialDelayMs?: number;
  /** Largest delay. Default 10000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  multiplier?: number;
  /** Random spread as a fraction of the delay, ± (0 … 1). Default 0.2. */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = Math.max(0, options.initialDelayMs ?? 250);
  const max = Math.max(initial, options.maxDelayMs ?? 10_000);
  const mult = Math.max(1, options.multiplier ?? 2);
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const base = Math.min(max, initial * mult ** Math.min(attempt, 64));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}

/** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
