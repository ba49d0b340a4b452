/**
 * The hub's state, with the ezmsg GraphServer's semantics (docs/protocol.md): current settings per
 * component address, one global seq (first event 1, +1 per event), a retained history trimmed
 * oldest-first past a count and a byte limit, and which session registered which component.
 * Transport-agnostic and synchronous: an append and everything that observes it happen in one
 * turn of the event loop, which is what makes a subscriber's replay + live handover atomic.
 */
import { stringifyJson } from "../../events/json.js";
import { systemClock } from "../producer.js";
import type { SettingsValue, SourceEventType, SourceSettingsEvent } from "../source.js";
import { HubError, byteLength, eventToJson } from "./protocol.js";

/** One retained event with its wire form, serialized once and shared by every reader. */
export interface StoredEvent {
  readonly event: SourceSettingsEvent;
  readonly json: string;
  readonly bytes: number;
  /** Bytes of all events appended up to and including this one (to measure a reader's lag in bytes). */
  readonly endBytes: number;
}

export interface SettingsStoreOptions {
  /** Most events retained (oldest dropped first). Default 10000, like ezmsg. Minimum 1. */
  historyLimit?: number;
  /** Most bytes of serialized events retained. Default 64 MiB. The newest event is always kept. */
  historyMaxBytes?: number;
  /** Most component addresses held at once. Default 10000. */
  maxComponents?: number;
  /**
   * Wall clock in seconds since the epoch. Default: the producer's system clock, which resolves
   * microseconds (`Date.now()` has only milliseconds: two registrations in one millisecond got one
   * time stamp, and the typed table merged them into one row).
   */
  wallNow?: () => number;
}

interface Entry {
  value: SettingsValue;
  owner: object;
  session: string | null;
}

export class SettingsStore {
  readonly historyLimit: number;
  readonly historyMaxBytes: number;
  readonly maxComponents: number;
  private readonly wallNow: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly sessions = new Map<string, Set<string>>();
  private history: (StoredEvent | undefined)[] = []; // slots before `head` are released
  private head = 0; // index of the oldest retained event in `history`
  private retainedBytes = 0;
  private appendedBytes = 0;
  private seq = 0;
  private readonly listeners = new Set<(e: StoredEvent) => void>();

  constructor(options: SettingsStoreOptions = {}) {
    this.historyLimit = Math.max(1, Math.floor(options.historyLimit ?? 10_000));
    this.historyMaxBytes = Math.max(1, options.historyMaxBytes ?? 64 * 1024 * 1024);
    this.maxComponents = options.maxComponents ?? 10_000;
    this.wallNow = options.wallNow ?? systemClock.wallNow;
  }

  /** Highest seq handed out (0 before the first event). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Seq of the oldest retained event, or lastSeq + 1 when nothing is retained. */
  get oldestRetainedSeq(): number {
    const e = this.history[this.head];
    return e ? e.event.seq : this.seq + 1;
  }

  get retainedEvents(): number {
    return this.history.length - this.head;
  }

  get componentCount(): number {
    return this.entries.size;
  }

  /** Called synchronously after each append (after trimming). */
  onAppend(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A component announces itself with its settings → INITIAL_SETTINGS. Re-registering an address
   * the same owner holds is allowed (a new INITIAL_SETTINGS); one held by another owner is a
   * `conflict` (ezmsg rejects address collisions across sessions too).
   */
  register(owner: object, address: string, value: SettingsValue, session: string | null): StoredEvent {
    const current = this.entries.get(address);
    if (current && current.owner !== owner) {
      throw new HubError("conflict", `component ${JSON.stringify(address)} is already registered by another publisher`);
    }
    if (!current && this.entries.size >= this.maxComponents) {
      throw new HubError("limit_exceeded", `the hub holds ${this.entries.size} components, its limit (maxComponents)`);
    }
    if (current?.session && current.session !== session) this.sessions.get(current.session)?.delete(address);
    this.entries.set(address, { value, owner, session });
    if (session !== null) {
      let set = this.sessions.get(session);
      if (!set) {
        set = new Set();
        this.sessions.set(session, set);
      }
      set.add(address);
    }
    return this.append(address, "INITIAL_SETTINGS", value, session);
  }

  /** Who registered `address` (a hub connection, or the hub itself for in-process components); undefined if nobody. */
  ownerOf(address: string): object | undefined {
    return this.entries.get(address)?.owner;
  }

  /** New settings for a registered component (full replacement) → SETTINGS_UPDATED. */
  update(address: string, value: SettingsValue): StoredEvent {
    const entry = this.entries.get(address);
    if (!entry) throw new HubError("unknown_component", `component ${JSON.stringify(address)} is not registered`);
    entry.value = value;
    return this.append(address, "SETTINGS_UPDATED", value, entry.session);
  }

  /**
   * Forget everything an owner registered (its connection closed). Like ezmsg, removal is silent:
   * no event; the components just leave the snapshot. Returns the removed addresses.
   */
  dropOwner(owner: object): string[] {
    const removed: string[] = [];
    for (const [address, entry] of this.entries) {
      if (entry.owner !== owner) continue;
      this.entries.delete(address);
      removed.push(address);
      if (entry.session !== null) {
        const set = this.sessions.get(entry.session);
        set?.delete(address);
        if (set && set.size === 0) this.sessions.delete(entry.session);
      }
    }
    return removed;
  }

  /** Current settings, keys in sorted order (as ezmsg replies). */
  snapshot(): Map<string, SettingsValue> {
    const out = new Map<string, SettingsValue>();
    for (const address of [...this.entries.keys()].sort()) out.set(address, this.entries.get(address)!.value);
    return out;
  }

  /** Components a session registered (sorted), or null if no such session is known. */
  sessionComponents(session: string): string[] | null {
    const set = this.sessions.get(session);
    return set ? [...set].sort() : null;
  }

  /** The retained event with this seq, if any. */
  eventAt(seq: number): StoredEvent | undefined {
    const first = this.history[this.head];
    if (!first) return undefined;
    return this.history[this.head + (seq - first.event.seq)];
  }

  /**
   * Retained events with seq > afterSeq, ascending, at most `maxBytes` of wire form (but always at
   * least one). `more` tells whether retained events were left out by the byte cap.
   */
  eventsAfter(afterSeq: number, maxBytes = Number.POSITIVE_INFINITY): { events: StoredEvent[]; more: boolean } {
    const from = Math.max(afterSeq + 1, this.oldestRetainedSeq);
    const events: StoredEvent[] = [];
    let bytes = 0;
    for (let seq = from; seq <= this.seq; seq++) {
      const e = this.eventAt(seq)!;
      if (events.length > 0 && bytes + e.bytes > maxBytes) return { events, more: true };
      events.push(e);
      bytes += e.bytes;
    }
    return { events, more: false };
  }

  private append(address: string, type: SourceEventType, value: SettingsValue, session: string | null): StoredEvent {
    const event: SourceSettingsEvent = {
      seq: this.seq + 1,
      timestamp: this.wallNow(),
      component_address: address,
      event_type: type,
      value,
      source_session_id: session,
    };
    const json = stringifyJson(eventToJson(event));
    const bytes = byteLength(json);
    this.appendedBytes += bytes;
    const stored: StoredEvent = { event, json, bytes, endBytes: this.appendedBytes };
    this.seq = event.seq;
    this.history.push(stored);
    this.retainedBytes += stored.bytes;
    this.trim();
    for (const l of this.listeners) l(stored);
    return stored;
  }

  /** Bytes of the retained events after `seq` (what a reader at cursor `seq` still has to take). */
  bytesAfter(seq: number): number {
    if (seq >= this.seq) return 0;
    const first = this.eventAt(Math.max(seq + 1, this.oldestRetainedSeq));
    return first ? this.appendedBytes - (first.endBytes - first.bytes) : 0;
  }

  /** How full a reader at cursor `seq` keeps the history (0 … 1: at 1 its next event is about to be dropped). */
  lagFraction(seq: number): number {
    return Math.max((this.seq - seq) / this.historyLimit, this.bytesAfter(seq) / this.historyMaxBytes);
  }

  private trim(): void {
    while (this.retainedEvents > 1 && (this.retainedEvents > this.historyLimit || this.retainedBytes > this.historyMaxBytes)) {
      this.retainedBytes -= this.history[this.head]!.bytes;
      this.history[this.head] = undefined;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
  }
}
