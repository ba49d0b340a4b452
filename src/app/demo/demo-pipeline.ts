/**
 * A small simulated pipeline for `nwb-settings demo`: four components publish their settings to a
 * hub over the real protocol and change them now and then, as an operator tuning a rig would.
 */
import type { JsonObject, JsonValue } from "../../events/json.js";
import { HubPublisher } from "../../producer/hub/hub-publisher.js";

interface Settings {
  [key: string]: JsonValue | Settings;
}

const isSettings = (v: JsonValue | Settings): v is Settings => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
const obj = (s: Settings): JsonObject => new Map(Object.entries(s).map(([k, v]) => [k, isSettings(v) ? obj(v) : v]));

/** Initial settings of the simulated components (ints as bigint, floats as number). */
export function demoComponents(): Map<string, Settings> {
  return new Map<string, Settings>([
    ["DEMO/ACQUISITION", { sample_rate_hz: 30000.0, channels: 32n, device: "sim-headstage" }],
    ["DEMO/FILTER", { low_hz: 300.0, high_hz: 6000.0, order: 4n, kind: "butterworth", enabled: true }],
    ["DEMO/DECODER", { model: "kalman", smoothing: 0.8, gains: [1.0, 1.0, 1.0], limits: { max_speed: 0.5, dead_zone: 0.02 } }],
    ["DEMO/FEEDBACK", { gain: 1.0, cursor_color: "green", visible: true }],
  ]);
}

/** One plausible change of one component, chosen by `step`. */
function change(step: number, current: Map<string, Settings>, random: () => number): [string, Settings] {
  const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
  switch (step % 4) {
    case 0: {
      const s = { ...current.get("DEMO/FILTER")! };
      s.low_hz = round(250 + random() * 100, 1);
      s.order = BigInt(2 + Math.floor(random() * 4));
      return ["DEMO/FILTER", s];
    }
    case 1: {
      const s = { ...current.get("DEMO/DECODER")! };
      s.smoothing = round(0.5 + random() * 0.45);
      s.gains = [round(0.5 + random()), round(0.5 + random()), round(0.5 + random())];
      return ["DEMO/DECODER", s];
    }
    case 2: {
      const s = { ...current.get("DEMO/FEEDBACK")! };
      s.gain = round(0.5 + random() * 2);
      s.cursor_color = ["green", "yellow", "cyan"][Math.floor(random() * 3)]!;
      return ["DEMO/FEEDBACK", s];
    }
    default: {
      const s = { ...current.get("DEMO/FILTER")! };
      s.enabled = !s.enabled;
      return ["DEMO/FILTER", s];
    }
  }
}

export class DemoPipeline {
  private readonly current = demoComponents();
  private timer: NodeJS.Timeout | undefined;
  private step = 0;
  changes = 0;

  private constructor(private readonly publisher: HubPublisher) {}

  /** Connect to the hub and register every component with its initial settings. */
  static async start(hubUrl: string): Promise<DemoPipeline> {
    const publisher = await HubPublisher.connect(hubUrl, { session: "demo-pipeline" });
    const p = new DemoPipeline(publisher);
    for (const [address, settings] of p.current) await publisher.register(address, obj(settings));
    return p;
  }

  /** Change one setting every `intervalMs` until {@link stop}. */
  run(intervalMs: number, random: () => number = Math.random): void {
    this.timer = setInterval(() => {
      const [address, settings] = change(this.step++, this.current, random);
      this.current.set(address, settings);
      this.publisher.update(address, obj(settings)).then(
        () => this.changes++,
        () => undefined,
      );
    }, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.publisher.close();
  }
}
