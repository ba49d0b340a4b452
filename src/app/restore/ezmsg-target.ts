/**
 * restore into an ezmsg 3.9 pipeline: live settings from SESSION_SETTINGS_SNAPSHOT (with each
 * component's settings object decoded inertly, so types are known), changes sent field by field
 * with UPDATE_SETTING_FIELD — what `GraphContext.update_setting` does (docs/restore.md).
 */
import { GraphClient, parseGraphAddress, defaultGraphAddress, type GraphAddress } from "../../ezmsg/graph-client.js";
import { UsageError } from "../../errors.js";
import type { ComponentPlan, LiveComponent } from "./plan.js";
import type { ApplyOutcome, RestoreTarget } from "./restore.js";

/** ProcessControlErrorCodes after which no other field of that component can succeed. */
const COMPONENT_LEVEL = new Set(["UNROUTABLE_UNIT", "UNSUPPORTED_OPERATION", "HANDLER_NOT_CONFIGURED", "PROCESS_DISCONNECTED"]);

export class EzmsgTarget implements RestoreTarget {
  private constructor(
    private readonly client: GraphClient,
    readonly description: string,
    private readonly fieldTimeoutSeconds: number,
  ) {}

  /** `address`: "HOST:PORT", or "" for EZMSG_GRAPHSERVER_ADDR / 127.0.0.1:25978. */
  static async open(address: string, fieldTimeoutSeconds: number): Promise<EzmsgTarget> {
    let addr: GraphAddress;
    try {
      addr = address === "" ? defaultGraphAddress() : parseGraphAddress(address);
    } catch (err) {
      throw new UsageError(`--to ezmsg://${address}: ${(err as Error).message}`);
    }
    const client = await GraphClient.connect(addr, { requestTimeoutMs: Math.ceil(fieldTimeoutSeconds * 1000) + 5000 });
    return new EzmsgTarget(client, `ezmsg://${addr.host}:${addr.port}`, fieldTimeoutSeconds);
  }

  async live(): Promise<Map<string, LiveComponent>> {
    const out = new Map<string, LiveComponent>();
    for (const [addr, s] of await this.client.settingsSnapshotObjects()) {
      out.set(addr, { structured: s.value.structured_value, object: s.object, tuples: s.tuples });
    }
    return out;
  }

  async apply(component: ComponentPlan): Promise<Map<string, ApplyOutcome>> {
    const out = new Map<string, ApplyOutcome>();
    let stop: string | null = null;
    for (const f of component.fields) {
      if (f.kind !== "change") continue;
      if (stop !== null) {
        out.set(f.path, { ok: false, error: stop });
        continue;
      }
      const r = await this.client.updateSettingField(component.component, f.path, f.value, this.fieldTimeoutSeconds);
      if (r.ok) {
        out.set(f.path, { ok: true });
      } else {
        const error = `ezmsg ${r.errorCode ?? "error"}: ${r.error}`;
        out.set(f.path, { ok: false, error });
        if (r.errorCode !== null && COMPONENT_LEVEL.has(r.errorCode)) stop = error;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
