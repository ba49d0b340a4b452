/**
 * The producer: any {@link SettingsSource} → `PipelineSettingsEvent`s, with the reference's
 * semantics (seed `_seed_initial_events`, `_watch`, `_produce`; docs/producer.md) and, unlike the
 * reference, staying connected:
 *
 * 1. Startup: snapshot, then history after 0. For each in-scope component in sorted address order
 *    one INITIAL carrying the latest history event's seq/timestamp/source_session_id for that
 *    address (seq 0 and "now" without one); then, only if any INITIAL was emitted, the
 *    `__init_final__` sentinel (seq = highest seq seen, timestamp = latest INITIAL timestamp).
 * 2. Live: subscribe after the highest seq; each in-scope event becomes UPDATED (INITIAL when the
 *    source's type is INITIAL_SETTINGS). Out-of-scope events are dropped (but advance the seq).
 * 3. Timestamps are rebased from the source's wall clock onto the local monotonic clock when the
 *    consumer takes the event: `ts - wallNow() + monotonicNow()`.
 * 4. Reconnect: when the subscription ends or fails, or the source cannot be reached, retry with
 *    bounded jittered exponential backoff and resume from `settingsEvents(lastSeq - 1)` (which
 *    also proves it is the same source: the event at lastSeq must be the one we saw) and
 *    `subscribe(lastSeq)` — nothing lost, nothing twice. A restarted source (it no longer has our
 *    last seq, or has a different event there) or a gap (events no longer retained) → resync from
 *    its snapshot: INITIALs for components whose value differs from what we last emitted (then
 *    the sentinel). See docs/producer.md.
 *
 * Use: `for await (const e of producer) …` (one consumer) and `await producer.stop()`.
 */
import { DEFAULT_TABLE_NAME, type PipelineSettingsEvent, makeSentinel } from "../events/event.js";
import { stringifyJson } from "../events/json.js";
import { type BackoffOptions, backoffDelay, sleep } from "./backoff.js";
import type { SettingsSource, SettingsSubscription, SettingsValue, SourceSettingsEvent } from "./source.js";
import type { SourceFactory } from "./source-url.js";
import { ProducerGaveUpError } from "../errors.js";

export type { SourceFactory } from "./source-url.js";

/** Which components to emit: a fixed list, the components of one session, or everything. */
export type ProducerScope = "all" | { components: readonly string[] } | { session: string };

export interface ProducerLogger {
  info(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

/** Both in seconds. `wallNow`: since the Unix epoch (the source's clock); `monotonicNow`: local monotonic. */
export interface ProducerClock {
  wallNow(): number;
  monotonicNow(): number;
  /**
   * `wallNow() − monotonicNow()` from a single reading, in seconds (optional). The rebase uses it
   * when present: two separate calls are microseconds apart, and that difference landed in every
   * event's time.
   */
  wallMinusMonotonic?(): number;
}

/**
 * The system clock. `wallNow` is the monotonic clock plus an offset that is re-read from
 * `Date.now()` only when the two disagree by more than {@link WALL_STEP_MS} (the system clock was
 * stepped). `Date.now()` alone has millisecond resolution: rebasing each event with it
 * (`ts − wallNow() + monotonicNow()`) moved every event by a different 0–1 ms, which reordered
 * events less than 1 ms apart (an ezmsg pipeline registers its components microseconds apart) and
 * blurred every interval by up to 1 ms. With a steady offset, read once per event
 * (`wallMinusMonotonic`), the rebase is the same shift for every event, so the source's time
 * differences survive exactly; a stepped system clock is still followed, as before.
 */
export const WALL_STEP_MS = 5;
let wallOffsetMs = performance.timeOrigin;

function wallOffsetNow(mono: number): number {
  const coarse = Date.now();
  if (Math.abs(coarse - (wallOffsetMs + mono)) > WALL_STEP_MS) {
    // Confirm with a tight paired reading: this process descheduled between reading `mono` and
    // Date.now() (a loaded machine) looks like a step too, and re-basing on it shifted every later
    // time by that pause (a recorded stream then showed a "gap" and started a new series).
    const a = performance.now();
    const c = Date.now();
    const b = performance.now();
    const m = (a + b) / 2;
    if (b - a < 1 && Math.abs(c - (wallOffsetMs + m)) > WALL_STEP_MS) wallOffsetMs = c - m;
  }
  return wallOffsetMs;
}

export const systemClock: ProducerClock = {
  wallNow: () => {
    const mono = performance.now();
    return (wallOffsetNow(mono) + mono) / 1000;
  },
  monotonicNow: () => performance.now() / 1000,
  wallMinusMonotonic: () => wallOffsetNow(performance.now()) / 1000,
};

export interface ReconnectOptions extends BackoffOptions {
  /** Give up after this many consecutive failed attempts (the iteration then throws). Default: never. */
  maxAttempts?: number;
}

export interface ProducerOptions {
  /** `table_name` stamped on every event. Default "settings_annotations". */
  tableName?: string;
  /** Default "all". */
  scope?: ProducerScope;
  /** Default: `console.warn` for warnings, nothing for info. */
  logger?: ProducerLogger;
  clock?: ProducerClock;
  reconnect?: ReconnectOptions;
  /** Random numbers in [0, 1) for the backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Events held for a consumer that does not keep up; above it the producer stops reading. Default 10000. */
  maxBufferedEvents?: number;
}

export type ProducerState = "idle" | "connecting" | "syncing" | "live" | "waiting" | "stopped" | "failed";

export interface ProducerStatus {
  state: ProducerState;
  /** Highest source seq seen on the current source instance. */
  lastSeq: number;
  /** Connections lost so far (subscription ended or failed, or a connect failed). */
  disconnects: number;
  /** Resyncs after a detected restart or gap. */
  resyncs: number;
  source: string | null;
}

export { ProducerGaveUpError };

class Stopped extends Error {}

/** Seq/timestamp/address of the last event we saw: how we recognise the same source on resume. */
interface Fingerprint {
  seq: number;
  timestamp: number;
  address: string;
}

/** Python's `sorted` on str: by code point (JS `<` compares UTF-16 units). */
export function compareAddresses(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function valueKey(v: SettingsValue): string {
  return stringifyJson([v.repr_value, v.structured_value]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const defaultLogger: ProducerLogger = { info: () => {}, warn: (m) => console.warn(m) };

export class SettingsProducer implements AsyncIterable<PipelineSettingsEvent> {
  private readonly tableName: string;
  private readonly scope: ProducerScope;
  private readonly log: ProducerLogger;
  private readonly clock: ProducerClock;
  private readonly reconnect: ReconnectOptions;
  private readonly random: () => number;
  private readonly maxBuffered: number;

  private readonly queue: PipelineSettingsEvent[] = [];
  private consumerWake: (() => void) | null = null;
  private producerWake: (() => void) | null = null;
  private iterated = false;
  private running: Promise<void> | null = null;
  private stopped = false;
  private failure: Error | null = null;
  private readonly abort = new AbortController();
  private readonly stopSignal: Promise<never>;

  private source: SettingsSource | null = null;
  private sub: SettingsSubscription | null = null;
  private synced = false;
  private lastSeq = 0;
  private fingerprint: Fingerprint | null = null;
  /** Last value emitted per in-scope address (for resync diffs). */
  private readonly known = new Map<string, string>();
  private scopeSet: Set<string> | null = null;
  private readonly st: ProducerStatus = { state: "idle", lastSeq: 0, disconnects: 0, resyncs: 0, source: null };

  constructor(
    private readonly factory: SourceFactory,
    options: ProducerOptions = {},
  ) {
    this.tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    this.scope = options.scope ?? "all";
    this.log = options.logger ?? defaultLogger;
    this.clock = options.clock ?? systemClock;
    this.reconnect = options.reconnect ?? {};
    this.random = options.random ?? Math.random;
    this.maxBuffered = Math.max(1, options.maxBufferedEvents ?? 10_000);
    if (typeof this.scope === "object" && "components" in this.scope) this.scopeSet = new Set(this.scope.components);
    this.stopSignal = new Promise<never>((_, reject) => this.abort.signal.addEventListener("abort", () => reject(new Stopped())));
    this.stopSignal.catch(() => {});
  }

  /** Events taken from the source that the consumer has not taken yet (and the source's own queue). */
  backlog(): { events: number; bytes: number } {
    const inner = this.sub && "backlog" in this.sub ? (this.sub as { backlog(): { events: number; bytes: number } }).backlog() : { events: 0, bytes: 0 };
    return { events: this.queue.length + inner.events, bytes: inner.bytes };
  }

  get status(): ProducerStatus {
    return { ...this.st, lastSeq: this.lastSeq };
  }

  /** Start connecting now (iteration starts it too). */
  start(): void {
    this.running ??= this.run();
  }

  /**
   * Before a stop: keep reading until everything the source holds now (as of this call) has been
   * delivered, at most `timeoutMs`. Returns how many events were still to come; 0 if not live.
   */
  async catchUp(timeoutMs: number): Promise<{ waitedFor: number; reached: boolean }> {
    const source = this.source;
    if (!source || this.stopped || this.st.state !== "live") return { waitedFor: 0, reached: true };
    const deadline = Date.now() + timeoutMs;
    let target = this.lastSeq;
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<SourceSettingsEvent[]>((r) => (timer = setTimeout(() => r([]), timeoutMs)));
      const pending = await Promise.race([source.settingsEvents(this.lastSeq), timeout]).finally(() => clearTimeout(timer));
      for (const e of pending) target = Math.max(target, e.seq);
    } catch {
      return { waitedFor: 0, reached: false };
    }
    const waitedFor = target - this.lastSeq;
    while (this.lastSeq < target && Date.now() < deadline && !this.stopped && this.st.state === "live") {
      await new Promise((r) => setTimeout(r, 20));
    }
    return { waitedFor, reached: this.lastSeq >= target };
  }

  /**
   * Stop reading the source and close it. The iteration ends promptly: events still buffered are
   * discarded, or, with `keepBuffered`, handed out first (they were delivered; a recorder writes them).
   */
  async stop(options: { keepBuffered?: boolean } = {}): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abort.abort();
      if (!options.keepBuffered) this.queue.length = 0;
      this.wakeConsumer();
      this.wakeProducer();
      await this.closeCurrent();
    }
    await this.running;
    this.st.state = "stopped";
  }

  [Symbol.asyncIterator](): AsyncIterator<PipelineSettingsEvent> {
    if (this.iterated) throw new Error("a SettingsProducer can be iterated once");
    this.iterated = true;
    this.start();
    return {
      next: async () => {
        for (;;) {
          const e = this.queue.shift();
          if (e) {
            if (this.queue.length < this.maxBuffered) this.wakeProducer();
            return { value: this.rebase(e), done: false };
          }
          if (this.failure) throw this.failure;
          if (this.stopped) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.consumerWake = resolve));
        }
      },
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // The connection loop

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let sessionEstablished = false;
      try {
        this.st.state = "connecting";
        const source = await this.guard(this.factory(), (s) => void s.close().catch(() => {}));
        this.source = source;
        this.st.source = source.description;
        this.st.state = "syncing";
        if (!this.synced) {
          await this.initialSync(source);
          this.log.info(`settings source ${source.description}: startup snapshot done; live after seq ${this.lastSeq}`);
        } else {
          await this.resume(source);
        }
        for (;;) {
          const sub = await this.guard(source.subscribe(this.lastSeq), (s) => void s.close().catch(() => {}));
          this.sub = sub;
          this.st.state = "live";
          sessionEstablished = true;
          attempt = 0;
          const outcome = await this.consume(sub);
          await sub.close().catch(() => {});
          this.sub = null;
          if (outcome === "ended") {
            this.st.disconnects++;
            this.log.warn(`settings source ${source.description}: subscription ended (source closed the stream) after seq ${this.lastSeq}`);
            break;
          }
          // a seq out of order on the subscription: re-read history on the same source
          this.st.state = "syncing";
          await this.resume(source);
        }
      } catch (err) {
        if (this.stopped || err instanceof Stopped) break;
        this.st.disconnects++;
        const where = this.source ? `settings source ${this.source.description}` : "settings source";
        this.log.warn(`${where}: ${sessionEstablished ? "connection lost" : "cannot connect"} after seq ${this.lastSeq}: ${errorText(err)}`);
        const max = this.reconnect.maxAttempts ?? Number.POSITIVE_INFINITY;
        if (!sessionEstablished && attempt + 1 >= max) {
          this.failure = new ProducerGaveUpError(`${where}: gave up after ${attempt + 1} attempts: ${errorText(err)}`, err);
          this.st.state = "failed";
          await this.closeCurrent();
          this.stopped = true;
          this.wakeConsumer();
          return;
        }
      }
      await this.closeCurrent();
      if (this.stopped) break;
      const delay = backoffDelay(attempt, this.reconnect, this.random);
      attempt++;
      this.st.state = "waiting";
      this.log.info(`settings source: reconnecting in ${delay} ms (attempt ${attempt}), will resume after seq ${this.lastSeq}`);
      await sleep(delay, this.abort.signal);
    }
    await this.closeCurrent();
    this.wakeConsumer();
  }

  /** Race `p` with stop(); if stop wins, `dispose` what `p` later yields. */
  private async guard<T>(p: Promise<T>, dispose: (v: T) => void): Promise<T> {
    if (this.stopped) {
      p.then(dispose, () => {});
      throw new Stopped();
    }
    try {
      return await Promise.race([p, this.stopSignal]);
    } catch (err) {
      if (err instanceof Stopped) p.then(dispose, () => {});
      throw err;
    }
  }

  private async closeCurrent(): Promise<void> {
    const sub = this.sub;
    const source = this.source;
    this.sub = null;
    this.source = null;
    await sub?.close().catch(() => {});
    await source?.close().catch(() => {});
  }

  /** Forward live events until the subscription ends ("ended") or delivers a seq out of order ("resume"). */
  private async consume(sub: SettingsSubscription): Promise<"ended" | "resume"> {
    const it = sub[Symbol.asyncIterator]();
    for (;;) {
      const r = await this.guard(it.next(), () => {});
      if (r.done) return "ended";
      const ev = r.value;
      if (ev.seq !== this.lastSeq + 1) {
        this.log.warn(
          ev.seq <= this.lastSeq
            ? `settings source ${this.source?.description}: subscription after seq ${this.lastSeq} delivered seq ${ev.seq} (source restarted?); re-reading its history`
            : `settings source ${this.source?.description}: gap in the subscription: seq ${this.lastSeq} then ${ev.seq}; re-reading its history`,
        );
        return "resume";
      }
      await this.live(ev);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Startup, resume, resync

  private async initialSync(source: SettingsSource): Promise<void> {
    await this.resolveScope(source);
    const { history, snapshot } = await this.snapshotWithHistory(source);
    this.learnSessionComponents(history);
    const latest = latestPerAddress(history);
    let emittedAny = false;
    let maxInitialTs = 0;
    let lastSeq = 0;
    for (const address of [...snapshot.keys()].sort(compareAddresses)) {
      if (!this.inScope(address)) continue;
      const value = snapshot.get(address)!;
      const ev = latest.get(address);
      const seq = ev ? ev.seq : 0;
      const ts = ev ? ev.timestamp : this.clock.wallNow();
      await this.emit(this.event(seq, ts, address, "INITIAL", value, ev ? ev.source_session_id : null));
      this.known.set(address, valueKey(value));
      lastSeq = Math.max(lastSeq, seq);
      maxInitialTs = Math.max(maxInitialTs, ts);
      emittedAny = true;
    }
    this.setPosition(history, lastSeq);
    if (emittedAny) await this.emit(makeSentinel(this.lastSeq, maxInitialTs || this.clock.wallNow(), this.tableName));
    this.synced = true;
  }

  /** Reconnected (or a seq out of order): catch up from history, or resync if that is impossible. */
  private async resume(source: SettingsSource): Promise<void> {
    const from = this.lastSeq;
    let events = await this.guard(source.settingsEvents(Math.max(0, from - 1)), () => {});
    const desc = source.description;
    if (from > 0) {
      const first = events[0];
      const fp = this.fingerprint;
      if (!first) return this.resync(source, `restart detected: its newest retained seq is below our last seq ${from}`, true);
      if (first.seq < from) return this.resync(source, `restart detected: asked for events after seq ${from - 1}, got seq ${first.seq}`, true);
      if (first.seq === from) {
        if (fp && fp.seq === from && (fp.timestamp !== first.timestamp || fp.address !== first.component_address)) {
          return this.resync(
            source,
            `restart detected: its event at seq ${from} is not the one we saw (${first.component_address} @ ${first.timestamp} vs ${fp.address} @ ${fp.timestamp})`,
            true,
          );
        }
        events = events.slice(1);
      } else if (first.seq > from + 1) {
        return this.resync(source, `gap: events ${from + 1}..${first.seq - 1} are no longer retained`, false);
      } else {
        this.log.debug?.(`settings source ${desc}: seq ${from} no longer retained; cannot confirm it is the same source, resuming at ${first.seq}`);
      }
    }
    let recovered = 0;
    for (const ev of events) {
      if (ev.seq !== this.lastSeq + 1) return this.resync(source, `gap in history: seq ${this.lastSeq} then ${ev.seq}`, false);
      await this.live(ev);
      recovered++;
    }
    this.log.info(`settings source ${desc}: resumed after seq ${from}; ${recovered} missed event(s) recovered from history; live after seq ${this.lastSeq}`);
  }

  /**
   * The source restarted, or events were lost: compare its snapshot with what we last emitted.
   * Each in-scope component whose value changed, or that is new, gets an INITIAL (the latest
   * history event's seq/timestamp/session, else seq 0 and now), in sorted order, then the sentinel
   * if any was emitted. Unchanged components emit nothing; vanished ones are only logged.
   */
  private async resync(source: SettingsSource, reason: string, restarted: boolean): Promise<void> {
    this.st.resyncs++;
    this.log.warn(`settings source ${source.description}: ${reason}; resyncing from its snapshot`);
    if (restarted && typeof this.scope === "object" && "session" in this.scope) this.scopeSet = null;
    await this.resolveScope(source);
    const { history, snapshot } = await this.snapshotWithHistory(source);
    this.learnSessionComponents(history);
    const latest = latestPerAddress(history);
    const changed: string[] = [];
    let unchanged = 0;
    let maxInitialTs = 0;
    let lastSeq = 0;
    for (const address of [...snapshot.keys()].sort(compareAddresses)) {
      if (!this.inScope(address)) continue;
      const value = snapshot.get(address)!;
      const key = valueKey(value);
      if (this.known.get(address) === key) {
        unchanged++;
        continue;
      }
      const ev = latest.get(address);
      const seq = ev ? ev.seq : 0;
      const ts = ev ? ev.timestamp : this.clock.wallNow();
      await this.emit(this.event(seq, ts, address, "INITIAL", value, ev ? ev.source_session_id : null));
      this.known.set(address, key);
      changed.push(address);
      lastSeq = Math.max(lastSeq, seq);
      maxInitialTs = Math.max(maxInitialTs, ts);
    }
    const gone = [...this.known.keys()].filter((a) => !snapshot.has(a));
    for (const a of gone) this.known.delete(a);
    const before = this.lastSeq;
    this.lastSeq = 0;
    this.fingerprint = null;
    this.setPosition(history, lastSeq);
    if (changed.length > 0) await this.emit(makeSentinel(this.lastSeq, maxInitialTs || this.clock.wallNow(), this.tableName));
    this.log.warn(
      `settings source ${source.description}: resynced (${restarted ? "restarted source" : "lost events"}; seq ${before} → ${this.lastSeq}): ` +
        `${changed.length} changed or new component(s) re-emitted as INITIAL${changed.length ? ` [${changed.join(", ")}]` : ""}, ${unchanged} unchanged` +
        `${gone.length ? `, ${gone.length} gone [${gone.join(", ")}]` : ""}`,
    );
  }

  /**
   * The source's snapshot and the history it reflects. History is read first, then the snapshot:
   * a change between the two reads is in the snapshot *and* comes again live (its seq is above
   * the history's), never in neither. (Snapshot first lost a component registered in between: its
   * seq was counted as seen, its INITIAL never emitted.) When the history moved meanwhile, both
   * are read again (twice at most), so a quiet source gives a snapshot without such repeats.
   */
  private async snapshotWithHistory(source: SettingsSource): Promise<{ history: SourceSettingsEvent[]; snapshot: Map<string, SettingsValue> }> {
    for (let attempt = 0; ; attempt++) {
      const history = await this.guard(source.settingsEvents(0), () => {});
      const snapshot = await this.guard(source.settingsSnapshot(), () => {});
      if (attempt === 2) return { history, snapshot };
      const top = history.reduce((m, e) => Math.max(m, e.seq), 0);
      const newer = await this.guard(source.settingsEvents(top), () => {});
      if (!newer.some((e) => e.seq > top)) return { history, snapshot };
    }
  }

  /** After a snapshot: lastSeq = highest seq seen, fingerprint = the event with it. */
  private setPosition(history: SourceSettingsEvent[], initialMax: number): void {
    let top: SourceSettingsEvent | undefined;
    for (const ev of history) if (!top || ev.seq > top.seq) top = ev;
    this.lastSeq = Math.max(this.lastSeq, initialMax, top?.seq ?? 0);
    if (top && top.seq === this.lastSeq) this.fingerprint = { seq: top.seq, timestamp: top.timestamp, address: top.component_address };
  }

  private async live(ev: SourceSettingsEvent): Promise<void> {
    this.lastSeq = ev.seq;
    this.fingerprint = { seq: ev.seq, timestamp: ev.timestamp, address: ev.component_address };
    this.learnSessionComponents([ev]);
    if (!this.inScope(ev.component_address)) return;
    this.known.set(ev.component_address, valueKey(ev.value));
    const type = ev.event_type === "INITIAL_SETTINGS" ? "INITIAL" : "UPDATED";
    await this.emit(this.event(ev.seq, ev.timestamp, ev.component_address, type, ev.value, ev.source_session_id));
  }

  // -------------------------------------------------------------------------------------------
  // Scope

  private async resolveScope(source: SettingsSource): Promise<void> {
    if (!(typeof this.scope === "object" && "session" in this.scope)) return;
    const id = this.scope.session;
    const components = await this.guard(source.sessionComponents(id), () => {});
    if (components === null) this.log.warn(`settings source ${source.description}: session ${id} is unknown; only components its events name will be in scope`);
    this.scopeSet = new Set([...(this.scopeSet ?? []), ...(components ?? [])]);
  }

  /** Session scope: a component whose event names the session is in scope from then on. */
  private learnSessionComponents(events: readonly SourceSettingsEvent[]): void {
    if (!(typeof this.scope === "object" && "session" in this.scope)) return;
    const id = this.scope.session;
    this.scopeSet ??= new Set();
    for (const ev of events) if (ev.source_session_id === id) this.scopeSet.add(ev.component_address);
  }

  private inScope(address: string): boolean {
    return this.scope === "all" || (this.scopeSet?.has(address) ?? false);
  }

  // -------------------------------------------------------------------------------------------
  // Queue

  private event(seq: number, ts: number, address: string, type: "INITIAL" | "UPDATED", value: SettingsValue, session: string | null): PipelineSettingsEvent {
    return {
      seq,
      timestamp: ts,
      component_address: address,
      event_type: type,
      repr_value: value.repr_value,
      structured_value: value.structured_value,
      source_session_id: session,
      table_name: this.tableName,
    };
  }

  private async emit(e: PipelineSettingsEvent): Promise<void> {
    while (this.queue.length >= this.maxBuffered && !this.stopped) {
      await Promise.race([new Promise<void>((resolve) => (this.producerWake = resolve)), this.stopSignal]);
    }
    if (this.stopped) throw new Stopped();
    this.queue.push(e);
    this.wakeConsumer();
  }

  /** Source wall clock → local monotonic clock, at the moment the consumer takes the event. */
  private rebase(e: PipelineSettingsEvent): PipelineSettingsEvent {
    const c = this.clock;
    return { ...e, timestamp: c.wallMinusMonotonic ? e.timestamp - c.wallMinusMonotonic() : e.timestamp - c.wallNow() + c.monotonicNow() };
  }

  private wakeConsumer(): void {
    const w = this.consumerWake;
    this.consumerWake = null;
    w?.();
  }

  private wakeProducer(): void {
    const w = this.producerWake;
    this.producerWake = null;
    w?.();
  }
}

function latestPerAddress(events: readonly SourceSettingsEvent[]): Map<string, SourceSettingsEvent> {
  const out = new Map<string, SourceSettingsEvent>();
  for (const ev of events) {
    const cur = out.get(ev.component_address);
    if (!cur || ev.seq > cur.seq) out.set(ev.component_address, ev);
  }
  return out;
}

/** Convenience: a producer for a source factory (e.g. from {@link sourceFactoryFromUrl}). */
export function createProducer(factory: SourceFactory, options: ProducerOptions = {}): SettingsProducer {
  return new SettingsProducer(factory, options);
}
