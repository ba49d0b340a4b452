/**
 * Timing marks for finding where start-up and runs spend their time (and for `npm run bench`):
 * with `NWB_SETTINGS_TRACE=1`, each mark is one line on stderr,
 * `nwb-settings-trace {"mark": …, "ms": <since process start>, "epochMs": …}`. Off by default.
 */
const enabled = process.env.NWB_SETTINGS_TRACE === "1";

/** Write mark `mark`; `extra` (a function, so nothing is computed when tracing is off) adds fields. */
export function traceMark(mark: string, extra?: () => Record<string, unknown>): void {
  if (!enabled) return;
  const ms = performance.now();
  process.stderr.write(`nwb-settings-trace ${JSON.stringify({ mark, ms, epochMs: performance.timeOrigin + ms, ...extra?.() })}\n`);
}

/** Where the memory is at a mark: peak RSS, V8 heap, external and array buffers (MiB-able bytes). */
export function memoryExtra(): Record<string, number> {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}
