/**
 * `record --monitor`: a small HTTP server for the live monitor page (docs/monitor.md).
 *
 * - `GET /` is the page, one static file shipped in the package (`assets/monitor.html`, no build
 *   step, no external resources);
 * - `GET /events` is a Server-Sent Events stream: a `snapshot` when a page connects (or reconnects:
 *   EventSource does that by itself), then a `change` per settings event as the recorder accepts
 *   it, and a `status` (counts, segments and their sizes, streams, durability) every 500 ms;
 * - `GET /state.json` is the snapshot and status once, for scripts.
 *
 * It sees the recording only through {@link ObservableRecording}; it never writes anything.
 * Bound to 127.0.0.1 by default. While bound to a loopback address it answers only requests whose
 * Host header names a loopback host, so a web page elsewhere cannot read it through DNS rebinding.
 */
import { existsSync, readFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ObservableRecording, RecordingStatus } from "../record/recording-observer.js";
import { type ChangeMessage, MonitorModel } from "./monitor-model.js";

export const DEFAULT_MONITOR_PORT = 7342;
export const DEFAULT_MONITOR_HOST = "127.0.0.1";
const STATUS_INTERVAL_MS = 500;
/** A page that reads nothing for this many bytes is dropped (it reconnects and gets a snapshot). */
const MAX_CLIENT_BACKLOG_BYTES = 8 * 1024 * 1024;

export interface MonitorServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7342; 0 picks a free port. */
  port?: number;
  statusIntervalMs?: number;
}

let pageCache: string | undefined;
/** assets/ from this module in dist/app/monitor/ (tsc output) or src/, or from the one-file bundle in dist/. */
const PAGE_LOCATIONS = ["../../../assets/monitor.html", "../assets/monitor.html"];

/** The page (read once from the package's assets folder). */
export function monitorPage(): string {
  if (pageCache === undefined) {
    const urls = PAGE_LOCATIONS.map((p) => new URL(p, import.meta.url));
    pageCache = readFileSync(urls.find((u) => existsSync(u)) ?? urls[0]!, "utf8");
  }
  return pageCache;
}

export const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || /^127\./.test(host);

export class MonitorServer {
  private readonly clients = new Set<ServerResponse>();
  /** Pages connected before {@link watch}. */
  private readonly waiting = new Set<ServerResponse>();
  private readonly model = new MonitorModel((m) => this.broadcastChange(m));
  private recording: ObservableRecording | undefined;
  private unobserve: () => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private lastStatus: RecordingStatus | undefined;
  private polling = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly options: MonitorServerOptions,
  ) {}

  /**
   * Listen (so a busy port fails before a recording starts); the page has data once
   * {@link watch} is given the recording.
   */
  static async listen(options: MonitorServerOptions = {}): Promise<MonitorServer> {
    const host = options.host ?? DEFAULT_MONITOR_HOST;
    monitorPage(); // a missing asset is an error now, not on the first request
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? DEFAULT_MONITOR_PORT, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const self = new MonitorServer(server, { ...options, host });
    server.on("request", (req, res) => self.handle(req, res));
    return self;
  }

  /** Watch this recording: its current settings are taken over at once, then every change. */
  watch(recording: ObservableRecording): void {
    if (this.recording) throw new Error("the monitor already watches a recording");
    this.recording = recording;
    this.unobserve = recording.observe(this.model);
    for (const res of this.waiting) this.join(res);
    this.waiting.clear();
    this.timer = setInterval(() => void this.pollStatus(), this.options.statusIntervalMs ?? STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const h = this.options.host!;
    return `http://${h.includes(":") ? `[${h}]` : h}:${this.port}/`;
  }

  /** Connected pages. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Send a last status (e.g. "stopped") to every page, then close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unobserve();
    // The last word to every page (e.g. "stopped"), even while a timed poll is still running.
    const status = await this.recording?.status().catch(() => this.lastStatus);
    if (status) for (const c of this.clients) this.send(c, "status", { status, durability: this.model.durabilityView() });
    for (const c of [...this.clients, ...this.waiting]) c.end();
    this.clients.clear();
    this.waiting.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
  }

  private async state(): Promise<object> {
    const status = await this.recording!.status();
    this.lastStatus = status;
    return { status, ...this.model.snapshot() };
  }

  private hostAllowed(req: IncomingMessage): boolean {
    if (!isLoopback(this.options.host!)) return true;
    const host = req.headers.host;
    if (!host) return false;
    const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
    return isLoopback(name);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (!this.hostAllowed(req)) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" }).end("the monitor answers loopback host names only\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    const common = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    if (!this.recording && path === "/state.json") {
      res.writeHead(503, { ...common, "retry-after": "1" }).end();
      return;
    }
    if (path === "/" || path === "/index.html") {
      res
        .writeHead(200, {
          ...common,
          "content-type": "text/html; charset=utf-8",
          // The page is self-contained: no script, style or connection goes anywhere but here.
          "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        })
        .end(req.method === "HEAD" ? undefined : monitorPage());
      return;
    }
    if (path === "/state.json") {
      void this.state().then(
        (s) => res.writeHead(200, { ...common, "content-type": "application/json" }).end(JSON.stringify(s)),
        (err: Error) => res.writeHead(500, common).end(err.message),
      );
      return;
    }
    if (path === "/events") {
      res.writeHead(200, { ...common, "content-type": "text/event-stream", connection: "keep-alive" });
      res.write("retry: 1000\n\n");
      res.on("close", () => {
        this.clients.delete(res);
        this.waiting.delete(res);
      });
      if (this.recording) this.join(res);
      else this.waiting.add(res); // joins when the recording is there
      return;
    }
    res.writeHead(404, { ...common, "content-type": "text/plain; charset=utf-8" }).end("not found\n");
  }

  /** A page's event stream starts with a snapshot, then gets every change. */
  private join(res: ServerResponse): void {
    void this.recording!.status().then(
      (status) => {
        if (res.destroyed || this.closed) return;
        this.lastStatus = status;
        // Snapshot, send and join in one go: no change can fall between the snapshot and the feed.
        this.send(res, "snapshot", { status, ...this.model.snapshot() });
        this.clients.add(res);
      },
      (err: Error) => res.end(`event: error\ndata: ${JSON.stringify(err.message)}\n\n`),
    );
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > MAX_CLIENT_BACKLOG_BYTES) {
      res.destroy();
      this.clients.delete(res);
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcastChange(message: ChangeMessage): void {
    for (const c of this.clients) this.send(c, "change", message);
  }

  private async pollStatus(): Promise<void> {
    if (!this.recording || this.polling || this.clients.size === 0) return;
    this.polling = true;
    try {
      const status = await this.recording.status().catch(() => this.lastStatus);
      if (!status) return;
      this.lastStatus = status;
      const data = { status, durability: this.model.durabilityView() };
      for (const c of this.clients) this.send(c, "status", data);
    } finally {
      this.polling = false;
    }
  }
}
