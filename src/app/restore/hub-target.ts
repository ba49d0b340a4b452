/**
 * restore into components published through our WebSocket hub: live settings from the hub's
 * `snapshot`; for each component with changes, one `apply` message carrying its whole settings
 * value — the live value with every planned change put in — which the hub forwards to the
 * component's publisher. Publishers may honour it (docs/protocol.md "apply"); restore then sees
 * the result in the snapshot, or reports the change as not applied.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../events/json.js";
import { HubError, HubReader } from "../../producer/hub/index.js";
import type { ComponentPlan, LiveComponent } from "./plan.js";
import type { ApplyOutcome, RestoreTarget } from "./restore.js";

export class HubTarget implements RestoreTarget {
  private last = new Map<string, JsonValue>();

  private constructor(
    private readonly reader: HubReader,
    readonly description: string,
  ) {}

  static async open(url: string, timeoutSeconds: number): Promise<HubTarget> {
    const reader = await HubReader.connect(url, { requestTimeoutMs: Math.ceil(timeoutSeconds * 1000) });
    return new HubTarget(reader, url);
  }

  async live(): Promise<Map<string, LiveComponent>> {
    const out = new Map<string, LiveComponent>();
    this.last = new Map();
    for (const [addr, v] of await this.reader.settingsSnapshot()) {
      out.set(addr, { structured: v.structured_value });
      this.last.set(addr, v.structured_value);
    }
    return out;
  }

  async apply(component: ComponentPlan): Promise<Map<string, ApplyOutcome>> {
    const changes = component.fields.filter((f) => f.kind === "change");
    const out = new Map<string, ApplyOutcome>();
    const base = this.last.get(component.component);
    let outcome: ApplyOutcome = { ok: true };
    if (!isJsonObject(base)) {
      outcome = { ok: false, error: "no live settings object to apply to" };
    } else {
      const value = structuredClone(base) as JsonObject;
      for (const f of changes) setPath(value, f.path, f.to);
      try {
        await this.reader.apply(component.component, value);
      } catch (err) {
        outcome = { ok: false, error: err instanceof HubError ? `hub ${err.code}: ${err.message}` : (err as Error).message };
      }
    }
    for (const f of changes) out.set(f.path, outcome);
    return out;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** Set a dotted path inside nested JSON objects (the plan only makes paths that exist). */
function setPath(obj: JsonObject, path: string, value: JsonValue): void {
  const keys = path.split(".");
  let cur: JsonObject = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur.get(k);
    if (!isJsonObject(next)) return;
    cur = next;
  }
  cur.set(keys[keys.length - 1]!, value);
}
