/** An in-memory settings source with GraphServer semantics, whose connections tests can break. */
import type { JsonObject } from "../../../src/events/json.js";
import type { SettingsSource, SettingsSubscription, SettingsValue, SourceEventType, SourceSettingsEvent } from "../../../src/producer/source.js";

export const val = (o: JsonObject | string): SettingsValue => ({ repr_value: o, structured_value: typeof o === "string" ? null : o });

class FakeSub implements SettingsSubscription {
  private queue: SourceSettingsEvent[] = [];
  private wake: (() => void) | null = null;
  private ended: "open" | "end" | Error = "open";
  closed = false;
  constructor(
    replay: SourceSettingsEvent[],
    private readonly onClose: (s: FakeSub) => void,
  ) {
    this.queue.push(...replay);
  }
  push(e: SourceSettingsEvent) {
    if (this.ended !== "open") return;
    this.queue.push(e);
    this.poke();
  }
  finish(how: "end" | Error) {
    if (this.ended === "open") this.ended = how;
    this.poke();
  }
  private poke() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  async close() {
    this.closed = true;
    this.finish("end");
    this.queue = [];
    this.onClose(this);
  }
  [Symbol.asyncIterator](): AsyncIterator<SourceSettingsEvent> {
    return {
      next: async () => {
        for (;;) {
          const e = this.queue.shift();
          if (e) return { value: e, done: false };
          if (this.ended instanceof Error) throw this.ended;
          if (this.ended === "end") return { value: undefined, done: true };
          await new Promise<void>((r) => (this.wake = r));
        }
      },
    };
  }
}

/** One source "instance" (a GraphServer process): seq from 1, bounded history. */
export class FakeServer {
  readonly events: SourceSettingsEvent[] = [];
  readonly settings = new Map<string, SettingsValue>();
  readonly sessions = new Map<string, string[]>();
  readonly subs = new Set<FakeSub>();
  seq = 0;
  down = false;
  connects = 0;
  closes = 0;
  /** Drop events from live subscriptions (not from history) whose seq is in here. */
  readonly skipLive = new Set<number>();
  constructor(
    public historyLimit = 10_000,
    public clock = () => 1_700_000_000 + this.seq,
  ) {}

  private append(address: string, type: SourceEventType, value: SettingsValue, session: string | null, ts?: number): SourceSettingsEvent {
    const e: SourceSettingsEvent = {
      seq: ++this.seq,
      timestamp: ts ?? this.clock(),
      component_address: address,
      event_type: type,
      value,
      source_session_id: session,
    };
    this.events.push(e);
    while (this.events.length > this.historyLimit) this.events.shift();
    for (const s of this.subs) if (!this.skipLive.has(e.seq)) s.push(e);
    return e;
  }
  register(address: string, value: SettingsValue, session: string | null = null, ts?: number) {
    this.settings.set(address, value);
    if (session) this.sessions.set(session, [...(this.sessions.get(session) ?? []), address].sort());
    return this.append(address, "INITIAL_SETTINGS", value, session, ts);
  }
  update(address: string, value: SettingsValue, ts?: number) {
    this.settings.set(address, value);
    const session = [...this.sessions].find(([, cs]) => cs.includes(address))?.[0] ?? null;
    return this.append(address, "SETTINGS_UPDATED", value, session, ts);
  }
  /** Set a value without an event (like a snapshot entry with no retained history). */
  setSilently(address: string, value: SettingsValue) {
    this.settings.set(address, value);
  }
  /** End every live subscription: normally ("end") or with an error. */
  dropSubscriptions(how: "end" | Error = "end") {
    for (const s of [...this.subs]) s.finish(how);
    this.subs.clear();
  }
  async connect(): Promise<SettingsSource> {
    if (this.down) throw new Error("connect ECONNREFUSED (fake)");
    this.connects++;
    return new FakeSource(this);
  }
  addSub(after: number): FakeSub {
    const replay = this.events.filter((e) => e.seq > after);
    const sub = new FakeSub(replay, (s) => this.subs.delete(s));
    this.subs.add(sub);
    return sub;
  }
}

export class FakeSource implements SettingsSource {
  readonly description = "fake://source";
  closed = false;
  constructor(private readonly server: FakeServer) {}
  private check() {
    if (this.closed) throw new Error("source closed");
    if (this.server.down) throw new Error("connection reset (fake)");
  }
  async settingsSnapshot() {
    this.check();
    return new Map([...this.server.settings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  async settingsEvents(afterSeq: number) {
    this.check();
    return this.server.events.filter((e) => e.seq > afterSeq);
  }
  async subscribe(afterSeq: number) {
    this.check();
    return this.server.addSub(afterSeq);
  }
  async sessionComponents(id: string) {
    this.check();
    return this.server.sessions.get(id) ?? null;
  }
  async close() {
    if (!this.closed) this.server.closes++;
    this.closed = true;
  }
}
