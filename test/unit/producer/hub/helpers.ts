import { afterEach } from "vitest";
import { WebSocket } from "ws";
import { type JsonObject, type JsonValue, isJsonObject, parseJson } from "../../../../src/events/json.js";
import { HubServer, type HubServerOptions } from "../../../../src/producer/hub/hub-server.js";

const closers: (() => Promise<unknown>)[] = [];

/** Register something to close after the current test (servers, clients). */
export function track<T extends { close(): Promise<unknown> | undefined }>(thing: T): T {
  closers.push(async () => thing.close());
  return thing;
}

afterEach(async () => {
  const all = closers.splice(0).reverse();
  for (const c of all)
    await withTimeout(
      Promise.resolve(c()).catch(() => {}),
      5000,
      "closing test resources",
    );
});

export async function startHub(options: HubServerOptions = {}): Promise<HubServer> {
  return track(await HubServer.start(options));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bare WebSocket client that records every message (parsed losslessly) and the close. */
export class RawClient {
  readonly messages: JsonObject[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      const v = parseJson(d.toString());
      if (isJsonObject(v)) this.messages.push(v);
      this.poke();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.poke();
    });
    ws.on("error", () => {});
  }
  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const c = new RawClient(ws);
    await withTimeout(
      new Promise((r, j) => {
        ws.once("open", r);
        ws.once("error", j);
      }),
      3000,
      "raw client open",
    );
    track({ close: async () => ws.terminate() });
    return c;
  }
  private poke() {
    for (const w of this.waiters.splice(0)) w();
  }
  send(text: string | Buffer) {
    this.ws.send(text);
  }
  /** Wait for the first recorded message matching `pred` (searching from index `from`). */
  async waitFor(pred: (m: JsonObject) => boolean, ms = 3000, from = 0): Promise<JsonObject> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.messages.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching message within ${ms} ms; got ${this.messages.length} messages`);
      await withTimeout(new Promise<void>((r) => this.waiters.push(r)), Math.max(1, deadline - Date.now()), "message").catch(() => {});
    }
  }
  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`not closed within ${ms} ms`);
      await withTimeout(new Promise<void>((r) => this.waiters.push(r)), Math.max(1, deadline - Date.now()), "close").catch(() => {});
    }
    return this.closed;
  }
}

export function field(m: JsonObject, k: string): JsonValue | undefined {
  return m.get(k);
}
