/**
 * The hub's publisher client, for components: register with settings (→ INITIAL_SETTINGS),
 * publish updates (→ SETTINGS_UPDATED). Each call resolves with the seq the hub gave the event.
 * Components registered through a connection leave the hub (silently, as in ezmsg) when it closes.
 */
import type { JsonObject } from "../../events/json.js";
import { HubConnection, type HubClientOptions, type HubHello } from "./hub-connection.js";
import { HubError } from "./protocol.js";

export interface HubPublisherOptions extends HubClientOptions {
  /** Session id sent with every register; the hub's `session_components` lists them by it. */
  session?: string;
}

export interface PublishOptions {
  /** Human-readable form (repr_value). Default: the settings object itself. */
  repr?: string | JsonObject;
}

export class HubPublisher {
  private constructor(
    private readonly conn: HubConnection,
    readonly session: string | null,
  ) {}

  static async connect(url: string, options: HubPublisherOptions = {}): Promise<HubPublisher> {
    return new HubPublisher(await HubConnection.open(url, options), options.session ?? null);
  }

  get hello(): HubHello {
    return this.conn.hello;
  }

  /** Register (or re-register) a component with its current settings. Returns the event's seq. */
  async register(component: string, settings: JsonObject, options: PublishOptions = {}): Promise<number> {
    const reply = await this.conn.request("register", {
      component,
      settings,
      ...(options.repr !== undefined ? { repr: options.repr } : {}),
      session: this.session,
    });
    return seqOf(reply.get("seq"));
  }

  /**
   * Be told when someone (`nwb-settings restore --to ws://…`) asks this publisher to take settings
   * for one of its components. Honouring it is up to the component: apply what it can, then
   * publish the result with {@link update} — that update is what the hub and recorders see.
   */
  onApply(handler: (component: string, settings: JsonObject) => void): () => void {
    return this.conn.onApply(handler);
  }

  /** Publish new settings (full replacement) for a registered component. Returns the event's seq. */
  async update(component: string, settings: JsonObject, options: PublishOptions = {}): Promise<number> {
    const reply = await this.conn.request("update", { component, settings, ...(options.repr !== undefined ? { repr: options.repr } : {}) });
    return seqOf(reply.get("seq"));
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

function seqOf(v: unknown): number {
  if (typeof v !== "bigint") throw new HubError("bad_request", "hub reply without an integer seq");
  return Number(v);
}
