/**
 * Native ezmsg 3.9 GraphServer client: reads settings the way `ezmsg.core.GraphContext` does
 * (settings_snapshot, settings_events, subscribe_settings_events, snapshot), over TCP, without
 * Python. Read-only: it never registers metadata, never connects edges and never sends SHUTDOWN.
 *
 * - One session connection (0x15) carries the requests, strictly one at a time in call order.
 *   It is opened by {@link GraphClient.connect}; if it breaks (server gone, timeout, bad
 *   reply framing) the failing request rejects, requests queued behind it reject, and the *next*
 *   request opens a fresh session. Nothing is retried silently.
 * - Each {@link GraphClient.subscribe} opens its own connection (0x1D); see
 *   {@link EzmsgSettingsSubscription} for how it ends.
 * - A restarted server starts seq at 1 again with an empty history; nothing in the protocol
 *   identifies a server instance, so after any reconnect the caller must resync (snapshot, then
 *   history from 0) — see docs/ezmsg-client.md.
 */
import { formatFloat } from "../events/json.js";
import type { SettingsChangedEvent, SettingsValue } from "./settings-types.js";
import { type GraphAddress, defaultGraphAddress, parseGraphAddress } from "./address.js";
import { describeAddress } from "./connection.js";
import { EzmsgProtocolError } from "./errors.js";
import {
  processControlResponseFromPickle,
  sessionComponentsFromPickle,
  settingsEventsFromPickle,
  settingsSnapshotEntriesFromPickle,
  settingsSnapshotFromPickle,
  settingsValueFromPickle,
} from "./graph-messages.js";
import { GraphSession } from "./graph-session.js";
import { PickleDecodeError, decodePickle, type PickleDecodeOptions } from "./pickle-decoder.js";
import type { PickleValue } from "./pickle-values.js";
import { type PickleWritable, settingsFieldUpdateRequest } from "./pickle-writer.js";
import { EzmsgSettingsSubscription } from "./settings-subscription.js";
import { Command, encodeCommandWithPayload } from "./wire.js";

export { defaultGraphAddress, parseGraphAddress, formatGraphAddress, type GraphAddress } from "./address.js";
export { SUPPORTED_EZMSG_VERSION } from "./connection.js";
export { EzmsgSettingsSubscription } from "./settings-subscription.js";

export interface GraphClientOptions {
  /** TCP connect + version banner, per connection. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Each session request (and the subscribe handshake). Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Largest reply or pushed frame accepted (checked before reading it). Default 64 MiB. */
  maxFrameBytes?: number;
  /** Limits for the pickle decoder (see {@link PickleDecodeOptions}); maxInputBytes defaults to maxFrameBytes. */
  pickle?: Omit<PickleDecodeOptions, "source">;
  /** Where warnings go (e.g. server version is not 3.9.0). Default `console.warn`. */
  onWarning?: (message: string) => void;
  /** How long close() waits for the SESSION_CLEAR acknowledgement. Default 1000 ms. */
  closeTimeoutMs?: number;
}

interface ResolvedOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxFrameBytes: number;
  pickle: PickleDecodeOptions;
  onWarning: (message: string) => void;
  closeTimeoutMs: number;
}

function resolveOptions(o: GraphClientOptions): ResolvedOptions {
  const maxFrameBytes = o.maxFrameBytes ?? 64 * 1024 * 1024;
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? 5000,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
    maxFrameBytes,
    pickle: { maxInputBytes: maxFrameBytes, ...o.pickle },
    onWarning: o.onWarning ?? ((m) => console.warn(m)),
    closeTimeoutMs: o.closeTimeoutMs ?? 1000,
  };
}

export class GraphClient {
  readonly description: string;
  private session: GraphSession | null = null;
  private opening: Promise<GraphSession> | null = null;
  private closed = false;
  private readonly subscriptions = new Set<EzmsgSettingsSubscription>();
  private version: string | null = null;

  private constructor(
    readonly address: GraphAddress,
    private readonly options: ResolvedOptions,
  ) {
    this.description = describeAddress(address);
  }

  /**
   * Connect and open a session now (so a wrong address fails here, not on first use).
   * `address` is a {@link GraphAddress}, a "HOST:PORT" string, or omitted for
   * `EZMSG_GRAPHSERVER_ADDR` / 127.0.0.1:25978.
   */
  static async connect(address?: GraphAddress | string, options: GraphClientOptions = {}): Promise<GraphClient> {
    const addr = address === undefined ? defaultGraphAddress() : typeof address === "string" ? parseGraphAddress(address) : address;
    const source = new GraphClient(addr, resolveOptions(options));
    await source.currentSession();
    return source;
  }

  /** Version string from the server's banner (e.g. "3.9.0"), once connected. */
  get serverVersion(): string | null {
    return this.version;
  }

  /** Id the server gave our current session, if one is open. */
  get sessionId(): string | null {
    return this.session?.usable ? this.session.sessionId : null;
  }

  private currentSession(): Promise<GraphSession> {
    if (this.closed) return Promise.reject(new Error(`${this.description}: source is closed`));
    if (this.session?.usable) return Promise.resolve(this.session);
    if (this.opening) return this.opening;
    const old = this.session;
    this.session = null;
    if (old) void old.close(0);
    this.opening = GraphSession.open(this.address, this.options).then(
      (s) => {
        this.opening = null;
        if (this.closed) {
          void s.close(this.options.closeTimeoutMs);
          throw new Error(`${this.description}: source is closed`);
        }
        this.session = s;
        this.version = s.serverVersion;
        return s;
      },
      (err: unknown) => {
        this.opening = null;
        throw err;
      },
    );
    return this.opening;
  }

  private async request(label: string, command: number, ...args: string[]): Promise<{ value: PickleValue; source: string }> {
    const session = await this.currentSession();
    const source = session.describe(label);
    const bytes = await session.requestPickled(label, command, ...args);
    try {
      return { value: decodePickle(bytes, { ...this.options.pickle, source }), source };
    } catch (err) {
      if (err instanceof PickleDecodeError) {
        throw new EzmsgProtocolError(source, `undecodable reply (${err.code} at byte ${err.offset}): ${err.problem}`, { cause: err });
      }
      throw err;
    }
  }

  /** SESSION_SETTINGS_SNAPSHOT: current settings of every component, by address (sorted by the server). */
  async settingsSnapshot(): Promise<Map<string, SettingsValue>> {
    const { value, source } = await this.request("SESSION_SETTINGS_SNAPSHOT", Command.SESSION_SETTINGS_SNAPSHOT);
    return settingsSnapshotFromPickle(value, source);
  }

  /**
   * SESSION_SETTINGS_SNAPSHOT, with each component's own settings object decoded inertly from its
   * `serialized` pickle (the dataclass as the process holds it: tuples, nested dataclasses, enums,
   * arrays — which `structured_value` flattens to plain JSON). `object` is null when ezmsg sent no
   * pickle or ours cannot decode it (`objectProblem` says why); `tuples` holds every array of
   * `object` that was a Python tuple.
   */
  async settingsSnapshotObjects(): Promise<Map<string, LiveSettings>> {
    const { value, source } = await this.request("SESSION_SETTINGS_SNAPSHOT", Command.SESSION_SETTINGS_SNAPSHOT);
    const out = new Map<string, LiveSettings>();
    for (const [addr, entry] of settingsSnapshotEntriesFromPickle(value, source)) {
      const tuples = new WeakSet<object>();
      let object: PickleValue | null = null;
      let objectProblem: string | null = entry.serialized === null ? "ezmsg could not pickle this component's settings" : null;
      if (entry.serialized !== null) {
        try {
          object = decodePickle(entry.serialized, { ...this.options.pickle, source: `${source}: ${addr} settings object`, tuplesOut: tuples });
        } catch (err) {
          if (!(err instanceof PickleDecodeError)) throw err;
          objectProblem = err.message;
        }
      }
      out.set(addr, { value: entry.value, object, objectProblem, tuples });
    }
    return out;
  }

  /**
   * SESSION_PROCESS_REQUEST `UPDATE_SETTING_FIELD` — what ezmsg 3.9's `GraphContext.update_setting`
   * sends: the server routes a pickled `SettingsFieldUpdateRequest(field_path, value)` to the
   * process owning the unit, which patches its current settings (dataclass `replace`, dotted paths
   * into nested dataclasses and dicts) and publishes the result on the unit's INPUT_SETTINGS.
   * `value` can only be a plain value (see pickle-writer.ts). `timeoutSeconds` is the server's wait
   * for the process; it must be below this client's request timeout.
   */
  async updateSettingField(component: string, fieldPath: string, value: PickleWritable, timeoutSeconds = 2): Promise<SettingFieldUpdateResult> {
    if (!(timeoutSeconds > 0) || timeoutSeconds * 1000 >= this.options.requestTimeoutMs) {
      throw new RangeError(`timeoutSeconds must be above 0 and below the request timeout (${this.options.requestTimeoutMs} ms), got ${timeoutSeconds}`);
    }
    const payload = settingsFieldUpdateRequest(fieldPath, value);
    const label = `UPDATE_SETTING_FIELD(${component}, ${fieldPath})`;
    const session = await this.currentSession();
    const source = session.describe(label);
    const request = encodeCommandWithPayload(Command.SESSION_PROCESS_REQUEST, [component, "UPDATE_SETTING_FIELD", formatFloat(timeoutSeconds)], payload);
    const bytes = await session.requestPickledBytes(label, request);
    const decode = (b: Uint8Array, what: string): PickleValue => {
      try {
        return decodePickle(b, { ...this.options.pickle, source: `${source}: ${what}` });
      } catch (err) {
        if (err instanceof PickleDecodeError)
          throw new EzmsgProtocolError(source, `undecodable ${what} (${err.code} at byte ${err.offset}): ${err.problem}`, { cause: err });
        throw err;
      }
    };
    const response = processControlResponseFromPickle(decode(bytes, "reply"), source);
    if (!response.ok) return { ok: false, errorCode: response.errorCode, error: response.error ?? "(no message)" };
    if (response.payload === null) throw new EzmsgProtocolError(source, "successful reply without a payload");
    return { ok: true, value: settingsValueFromPickle(decode(response.payload, "reply payload"), source) };
  }

  /** SESSION_SETTINGS_EVENTS: retained events with seq > afterSeq, ascending. */
  async settingsEvents(afterSeq: number): Promise<SettingsChangedEvent[]> {
    checkSeq(afterSeq);
    const label = `SESSION_SETTINGS_EVENTS(after_seq=${afterSeq})`;
    const { value, source } = await this.request(label, Command.SESSION_SETTINGS_EVENTS, String(afterSeq));
    return settingsEventsFromPickle(value, source);
  }

  /** SESSION_SETTINGS_SUBSCRIBE on a new connection: replay of seq > afterSeq, then live events. */
  async subscribe(afterSeq: number): Promise<EzmsgSettingsSubscription> {
    checkSeq(afterSeq);
    if (this.closed) throw new Error(`${this.description}: source is closed`);
    const sub = await EzmsgSettingsSubscription.open(this.address, afterSeq, this.options);
    if (this.closed) {
      await sub.close();
      throw new Error(`${this.description}: source is closed`);
    }
    this.subscriptions.add(sub);
    sub.onClosed(() => this.subscriptions.delete(sub));
    return sub;
  }

  /** SESSION_SNAPSHOT: the components a session registered ([] if it registered none), or null if no such session. */
  async sessionComponents(sessionId: string): Promise<string[] | null> {
    const { value, source } = await this.request("SESSION_SNAPSHOT", Command.SESSION_SNAPSHOT);
    return sessionComponentsFromPickle(value, sessionId, source);
  }

  /** The whole GraphSnapshot, decoded but not interpreted (for diagnostics). */
  async graphSnapshot(): Promise<PickleValue> {
    return (await this.request("SESSION_SNAPSHOT", Command.SESSION_SNAPSHOT)).value;
  }

  /** Close every subscription opened here, send SESSION_CLEAR, close the session. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subs = [...this.subscriptions];
    this.subscriptions.clear();
    const opening = this.opening;
    await Promise.all([
      ...subs.map((s) => s.close()),
      this.session?.close(this.options.closeTimeoutMs),
      opening?.then(
        (s) => s.close(this.options.closeTimeoutMs),
        () => undefined,
      ),
    ]);
    this.session = null;
  }
}

/** One component's live settings, as {@link GraphClient.settingsSnapshotObjects} gives them. */
export interface LiveSettings {
  value: SettingsValue;
  object: PickleValue | null;
  objectProblem: string | null;
  tuples: WeakSet<object>;
}

/** The answer to {@link GraphClient.updateSettingField}: the patched settings, or ezmsg's refusal. */
export type SettingFieldUpdateResult = { ok: true; value: SettingsValue } | { ok: false; errorCode: string | null; error: string };

function checkSeq(afterSeq: number): void {
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new RangeError(`after_seq must be a non-negative integer, got ${afterSeq}`);
  }
}
