/** `nwb-settings record`: a live pipeline's settings to NWB until SIGINT/SIGTERM (docs/cli.md). */
import { mkdir } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { DEFAULT_HUB_PORT, RecordSession, type StreamsOptions } from "../../app/record/record-session.js";
import { STREAM_CLOCKS, type StreamClock, type StreamStats } from "../../app/record/stream-options.js";
import type { ProducerScope } from "../../producer/producer.js";
import { electrodeLocationWarning } from "../../nwb/dandi-requirements.js";
import { type CommandContext, UsageError } from "../context.js";
import { loadMeta, untilSignal, warnDandiGaps, withOutputOptions } from "../shared-options.js";
import { checkOutputPath, checkPort, checkSinks, checkSource, checkWholeNumber, folderErrorText, listenErrorText } from "../option-checks.js";
import { StatusLine, formatBytes } from "../status-line.js";
import { DEFAULT_MONITOR_HOST, DEFAULT_MONITOR_PORT, MonitorServer, isLoopback } from "../../app/monitor/monitor-server.js";

interface RecordArgs {
  source: string;
  out: string;
  sinks: string;
  meta?: string;
  overwrite: boolean;
  scope?: string;
  session?: string;
  "hub-port": number;
  "flush-interval": number;
  streams?: string;
  clock: string;
  "on-overflow": string;
  "stream-buffer": number;
  "electrode-location"?: string;
  monitor?: string;
  "monitor-host": string;
  "split-bytes"?: number;
}

/** `--monitor [PORT]`: undefined when not asked for; the default port when given without a value. */
export function monitorPortFrom(args: Pick<RecordArgs, "monitor" | "monitor-host">): number | undefined {
  const given = args.monitor;
  if (given === undefined) {
    if (args["monitor-host"] !== DEFAULT_MONITOR_HOST) throw new UsageError("--monitor-host needs --monitor");
    return undefined;
  }
  if (given.trim() === "") return DEFAULT_MONITOR_PORT;
  const port = /^\s*\d+\s*$/.test(given) ? Number(given) : Number.NaN;
  checkPort("--monitor", Number.isNaN(port) ? given : port);
  return port;
}

export function streamsFrom(args: RecordArgs): StreamsOptions | undefined {
  const given = args.streams;
  // A hub (embedded or ws://) relays the sample streams its publishers declare: all are recorded
  // unless --streams names some. An ezmsg GraphServer has many topics: --streams names them.
  const hub = args.source === "embedded" || /^wss?:\/\//i.test(args.source);
  if (given === undefined && !hub) {
    if (args["electrode-location"] !== undefined) throw new UsageError("--electrode-location needs --streams");
    if (args["split-bytes"] !== undefined) throw new UsageError("--split-bytes needs --streams (it counts the sample bytes of a file)");
    return undefined;
  }
  const patterns = (given ?? "*")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (patterns.length === 0) throw new UsageError("--streams needs at least one topic (TOPIC[,TOPIC…], * and ? match)");
  if (!hub && !args.source.startsWith("ezmsg://"))
    throw new UsageError(
      `--streams records ezmsg topics or hub sample streams: it needs --source ezmsg://HOST:PORT, ws://HOST:PORT or embedded (got ${args.source})`,
    );
  if (!STREAM_CLOCKS.includes(args.clock as StreamClock)) throw new UsageError(`--clock must be one of ${STREAM_CLOCKS.join(", ")}`);
  if (args["on-overflow"] !== "block" && args["on-overflow"] !== "drop") throw new UsageError("--on-overflow must be block or drop");
  if (!(args["stream-buffer"] > 0)) throw new UsageError("--stream-buffer must be a positive number of MB");
  const split = args["split-bytes"];
  if (split !== undefined && !(Number.isSafeInteger(split) && split > 0))
    throw new UsageError(`--split-bytes must be a whole number of bytes > 0 (got ${split})`);
  return {
    patterns,
    clock: args.clock as StreamClock,
    onOverflow: args["on-overflow"],
    bufferBytes: Math.round(args["stream-buffer"] * 1e6),
    ...(args["electrode-location"] !== undefined ? { electrodeLocation: args["electrode-location"] } : {}),
    ...(split !== undefined ? { splitBytes: split } : {}),
  };
}

function streamStatus(s: StreamStats, prev: StreamStats | undefined, dt: number): string {
  const mbs = prev ? (s.bytes - prev.bytes) / 1e6 / dt : 0;
  const rate = s.rate !== null ? `${s.rate >= 1000 ? `${(s.rate / 1000).toFixed(1)} kHz` : `${s.rate.toFixed(1)} Hz`}` : "irregular";
  return `${s.topic} ${rate} ${mbs.toFixed(1)} MB/s buf ${s.queuedSeconds.toFixed(2)} s${s.dropped ? ` dropped ${s.dropped}` : ""}`;
}

export function scopeFrom(scope: string | undefined, session: string | undefined): ProducerScope {
  if (scope !== undefined && session !== undefined) throw new UsageError("give --scope or --session, not both");
  if (session !== undefined) return { session };
  if (scope !== undefined) {
    const components = scope
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (components.length === 0) throw new UsageError("--scope needs at least one component address");
    return { components };
  }
  return "all";
}

export function recordCommand(ctx: CommandContext): CommandModule<object, RecordArgs> {
  return {
    command: "record",
    describe: "Record a live pipeline's settings into an NWB file until Ctrl-C",
    builder: (y) =>
      withOutputOptions(
        y
          .option("source", {
            type: "string",
            default: "embedded",
            describe: "embedded | ws://HOST:PORT (hub) | ezmsg://HOST:PORT (GraphServer; default address from EZMSG_GRAPHSERVER_ADDR)",
          })
          .option("out", { alias: "o", type: "string", demandOption: true, describe: "Output NWB file" })
          .option("scope", { type: "string", describe: "Only these component addresses (comma list)" })
          .option("session", { type: "string", describe: "Only the components of this session" })
          .option("hub-port", { type: "number", default: DEFAULT_HUB_PORT, describe: "Port of the embedded hub (127.0.0.1)" })
          .option("flush-interval", { type: "number", default: 500, describe: "Milliseconds between HDF5 flushes (1–3600000)" })
          .option("streams", {
            type: "string",
            describe:
              "Also record these data streams into the same file (comma list; * and ? match): ezmsg AxisArray topics (--source ezmsg://), or hub sample streams (a hub source records all by default)",
          })
          .option("clock", {
            type: "string",
            default: "system",
            choices: [...STREAM_CLOCKS],
            describe:
              "What the streams' time axes count: system (Unix time), monotonic (time.monotonic() of this host), unknown (first sample placed at its arrival)",
          })
          .option("on-overflow", {
            type: "string",
            default: "block",
            choices: ["block", "drop"],
            describe: "When the stream buffer is full: block (stall the pipeline) or drop (count dropped messages)",
          })
          .option("stream-buffer", { type: "number", default: 256, describe: "MB of samples held between receiving and writing" })
          .option("electrode-location", { type: "string", describe: "Location of the electrodes of labeled streams (e.g. an Allen CCF term)" })
          .option("split-bytes", {
            type: "number",
            describe: "Start the next file <stem>_NN.nwb once this many sample bytes are in the current one; each opens with the current settings",
          })
          .option("monitor", {
            type: "string",
            describe: `Serve a live monitor page on this port (default ${DEFAULT_MONITOR_PORT} when no PORT is given; 0 picks a free one); its URL is printed`,
          })
          .option("monitor-host", {
            type: "string",
            default: DEFAULT_MONITOR_HOST,
            describe: "Address the monitor page listens on (it has no password: keep it on loopback, or behind your own proxy)",
          }),
      ).check((a) => {
        checkPort("--hub-port", a["hub-port"]);
        checkWholeNumber("--flush-interval", a["flush-interval"], 1, 3_600_000, "milliseconds");
        checkSource(a.source);
        checkSinks(a.sinks);
        if (a.source !== "embedded" && a["hub-port"] !== DEFAULT_HUB_PORT) throw new UsageError("--hub-port is for --source embedded only");
        monitorPortFrom(a);
        return true;
      }) as never,
    handler: async (args) => {
      const scope = scopeFrom(args.scope, args.session);
      const streams = streamsFrom(args);
      const sinks = checkSinks(args.sinks);
      await checkOutputPath("--out", args.out);
      const meta = await loadMeta(args.meta);
      warnDandiGaps(ctx, meta, args.meta);
      // Only when streams were asked for: a hub source records declared streams by default, and a
      // settings-only hub recording should not be told about electrodes it will never have.
      const locationWarning = streams && args.streams !== undefined ? electrodeLocationWarning(meta, streams.electrodeLocation) : undefined;
      if (locationWarning) ctx.stderr.write(`warning: ${locationWarning}\n`);
      const outPath = resolve(args.out);
      await mkdir(dirname(outPath), { recursive: true }).catch((err: unknown) => {
        throw new Error(folderErrorText(dirname(outPath), err));
      });
      const monitorPort = monitorPortFrom(args);
      // The page's port is taken before the recording starts: a busy port changes nothing.
      const monitor =
        monitorPort === undefined
          ? undefined
          : await MonitorServer.listen({ host: args["monitor-host"], port: monitorPort }).catch((err: unknown) => {
              throw new Error(`--monitor: ${listenErrorText(err, monitorPort, "--monitor")}`);
            });
      const status = new StatusLine(ctx.stderr);
      const signal = untilSignal(ctx);
      const session = await RecordSession.start({
        source: args.source,
        outPath,
        sinks,
        meta,
        overwrite: args.overwrite,
        scope,
        hubPort: args["hub-port"],
        flushIntervalMs: args["flush-interval"],
        logger: { info: (m) => status.log(m), warn: (m) => status.log(`warning: ${m}`) },
        onError: (m) => status.log(`error: ${m}`),
        ...(streams ? { streams, onStreamLog: (m: string) => status.log(m) } : {}),
      }).catch(async (err: unknown) => {
        signal.dispose();
        await monitor?.close();
        if ((err as NodeJS.ErrnoException).syscall === "listen") throw new Error(listenErrorText(err, args["hub-port"], "--hub-port"));
        throw err;
      });
      ctx.stderr.write(`recording ${session.hub ? `the embedded hub at ${session.hub.url}` : session.sourceDescription} into ${outPath} (Ctrl-C to stop)\n`);
      if (monitor) {
        monitor.watch(session);
        ctx.stderr.write(`monitor page at ${monitor.url}\n`);
        if (!isLoopback(args["monitor-host"]))
          ctx.stderr.write(`warning: the monitor page has no password; anyone who can reach ${monitor.url} sees the settings\n`);
      }
      let prevStreams = new Map<string, StreamStats>();
      const ticker = setInterval(() => {
        void session.outputBytes().then((bytes) => {
          const s = session.recorder.stats;
          const now = [...(session.streams?.stats.values() ?? [])].map((x) => ({ ...x }));
          const streamText = now.map((x) => ` · ${streamStatus(x, prevStreams.get(x.topic), 0.5)}`).join("");
          prevStreams = new Map(now.map((x) => [x.topic, x]));
          const behind = session.backlog();
          const lag = behind.events > 0 ? ` · behind by ${behind.events} events (${formatBytes(behind.bytes)} queued)` : "";
          status.show(
            `${s.events} events · last ${s.lastComponent ?? "–"}${streamText} · ${basename(session.recorder.currentPath)} ${formatBytes(bytes)}${lag}`,
          );
        });
      }, 500);
      try {
        const how = await Promise.race([signal.promise, session.finished.then(() => "source ended" as const)]);
        const stats = await session.stop();
        status.clear();
        ctx.stdout.write(`stopped (${how}): ${stats.events} events recorded${stats.rejected ? `, ${stats.rejected} rejected` : ""}\n`);
        const caught = session.caughtUp;
        if (caught && caught.waitedFor > 0) {
          ctx.stderr.write(
            caught.reached
              ? `the recorder was ${caught.waitedFor} events behind the source at the stop; it caught up before closing\n`
              : `warning: the recorder was ${caught.waitedFor} events behind the source at the stop and could not catch up in time; the source still holds them\n`,
          );
        }
        for (const st of session.streams?.stats.values() ?? []) {
          ctx.stdout.write(
            `  stream ${st.topic}: ${st.frames} messages, ${st.samples} samples, ${(st.bytes / 1e6).toFixed(1)} MB → ${st.series.join(", ") || "no series"}` +
              `${st.dropped ? `; ${st.dropped} messages (${st.droppedSamples} samples) DROPPED (buffer full)` : "; 0 dropped"}${st.skipped ? `; ${st.skipped} not recordable` : ""}\n`,
          );
        }
        for (const p of stats.outputs) ctx.stdout.write(`  ${p}\n`);
        if (stats.outputs.length === 0) {
          ctx.stdout.write(
            `  no settings were recorded, no file written${stats.journalRemoved ? " (its empty journal was removed: nothing to recover)" : ""}\n`,
          );
        }
      } catch (err) {
        status.clear(); // the failure (it names the file) is printed on a clean line
        throw err;
      } finally {
        clearInterval(ticker);
        signal.dispose();
        await monitor?.close();
      }
    },
  };
}
