/**
 * A small simulated pipeline for `nwb-settings demo`: four components publish their settings to a
 * hub over the real protocol and change them now and then, as an operator tuning a rig would, and
 * a simulated 32-channel 1 kHz recording goes to the hub as a sample stream whose character
 * follows those settings (see {@link NeuralSimulator}).
 */
import type { JsonObject, JsonValue } from "../../events/json.js";
import { HubPublisher, type HubStreamPublisher } from "../../producer/hub/hub-publisher.js";
import { NeuralSimulator } from "./neural-simulator.js";

/** The simulated recording: 32 channels at 1 kHz, float32 in µV. */
export const DEMO_STREAM = { name: "demo_neural", channels: 32, rate: 1000 } as const;
/** How often the simulator sends what it generated since the last frame. */
const FRAME_MS = 100;

interface Settings {
  [key: string]: JsonValue | Settings;
}

const isSettings = (v: JsonValue | Settings): v is Settings => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
const obj = (s: Settings): JsonObject => new Map(Object.entries(s).map(([k, v]) => [k, isSettings(v) ? obj(v) : v]));

/** Initial settings of the simulated components (ints as bigint, floats as number). */
export function demoComponents(): Map<string, Settings> {
  return new Map<string, Settings>([
    ["DEMO/ACQUISITION", { sample_rate_hz: 1000.0, channels: 32n, device: "sim-headstage" }],
    ["DEMO/FILTER", { low_hz: 1.0, high_hz: 100.0, order: 2n, kind: "butterworth", enabled: true }],
    ["DEMO/DECODER", { model: "kalman", smoothing: 0.8, gains: [1.0, 1.0, 1.0], limits: { max_speed: 0.5, dead_zone: 0.02 } }],
    ["DEMO/FEEDBACK", { gain: 1.0, cursor_color: "green", visible: true }],
  ]);
}

/** One plausible change of one component, chosen by `step`. */
function change(step: number, current: Map<string, Settings>, random: () => number): [string, Settings] {
  const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
  switch (step % 4) {
    case 0: {
      // the low-pass cutoff: the noise bandwidth (and how sharp the spikes look) follows it
      const s = { ...current.get("DEMO/FILTER")! };
      const cutoffs = [20.0, 50.0, 100.0, 200.0, 400.0].filter((c) => c !== s.high_hz);
      s.high_hz = cutoffs[Math.floor(random() * cutoffs.length)]!;
      s.order = BigInt(1 + Math.floor(random() * 3));
      return ["DEMO/FILTER", s];
    }
    case 1: {
      const s = { ...current.get("DEMO/DECODER")! };
      s.smoothing = round(0.5 + random() * 0.45);
      s.gains = [round(0.5 + random()), round(0.5 + random()), round(0.5 + random())];
      return ["DEMO/DECODER", s];
    }
    case 2: {
      // the feedback gain also scales the simulated recording (a stimulation-dependent amplitude)
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

/** The simulator's view of the settings that shape the signal. */
function signalSettings(current: Map<string, Settings>): { enabled: boolean; lowHz: number; highHz: number; order: number; gain: number } {
  const f = current.get("DEMO/FILTER")!;
  return {
    enabled: f.enabled === true,
    lowHz: Number(f.low_hz),
    highHz: Number(f.high_hz),
    order: Number(f.order),
    gain: Number(current.get("DEMO/FEEDBACK")!.gain),
  };
}

export class DemoPipeline {
  private readonly current = demoComponents();
  private timer: NodeJS.Timeout | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private step = 0;
  private readonly sim = new NeuralSimulator(DEMO_STREAM.channels, DEMO_STREAM.rate);
  /** Unix time of the first sample, and samples sent since. */
  private t0 = 0;
  private sent = 0;
  private sending: Promise<void> = Promise.resolve();
  changes = 0;
  samples = 0;

  private constructor(
    private readonly publisher: HubPublisher,
    private readonly stream: HubStreamPublisher,
  ) {}

  /** Connect to the hub, register every component with its initial settings, declare the stream. */
  static async start(hubUrl: string): Promise<DemoPipeline> {
    const publisher = await HubPublisher.connect(hubUrl, { session: "demo-pipeline" });
    const current = demoComponents();
    for (const [address, settings] of current) await publisher.register(address, obj(settings));
    const stream = await publisher.declareStream({
      stream: DEMO_STREAM.name,
      dtype: "float32",
      channels: Array.from({ length: DEMO_STREAM.channels }, (_, i) => `ch${String(i).padStart(2, "0")}`),
      rate: DEMO_STREAM.rate,
      unit: "uV",
      description:
        "SIMULATED extracellular recording (no animal): per channel, spikes and an 8 Hz rhythm in noise, band-limited by DEMO/FILTER and scaled by DEMO/FEEDBACK gain",
    });
    return new DemoPipeline(publisher, stream);
  }

  /** Change one setting every `intervalMs` and stream samples until {@link stop}. */
  run(intervalMs: number, random: () => number = Math.random): void {
    this.sim.apply(signalSettings(this.current));
    this.t0 = Date.now() / 1000;
    this.sent = 0;
    this.timer = setInterval(() => {
      // samples up to now are shaped by the settings before the change
      this.sendSamples();
      const [address, settings] = change(this.step++, this.current, random);
      this.current.set(address, settings);
      this.sim.apply(signalSettings(this.current));
      this.publisher.update(address, obj(settings)).then(
        () => this.changes++,
        () => undefined,
      );
    }, intervalMs);
    this.frameTimer = setInterval(() => this.sendSamples(), FRAME_MS);
  }

  /** Generate and send the samples whose time has come (one frame). */
  private sendSamples(): void {
    const due = Math.floor((Date.now() / 1000 - this.t0) * DEMO_STREAM.rate);
    const n = due - this.sent;
    if (n <= 0) return;
    const data = this.sim.next(n);
    const t0 = this.sent === 0 ? { t0: this.t0 } : {};
    this.sent = due;
    this.samples += n;
    this.sending = this.sending.then(() => this.stream.send(data, t0)).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.frameTimer) clearInterval(this.frameTimer);
    if (this.t0 > 0) this.sendSamples();
    await this.sending;
    await this.stream.end().catch(() => undefined);
    await this.publisher.close();
  }
}
