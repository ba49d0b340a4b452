/**
 * The demo's simulated recording: per channel, spikes (a few per second, each channel its own
 * amplitude) and an 8 Hz rhythm on white noise, then the settings' filter — a one-pole high-pass
 * at `lowHz` and `order` one-pole low-passes at `highHz` — unless the filter is disabled, then the
 * gain. So a settings change shows in the data: a lower cutoff makes the trace smoother and the
 * spikes blunter, a higher one hairier; disabling the filter lets the headstage's broadband noise
 * through (2.5× the in-band noise); the gain scales everything. Deterministic for a seed (xorshift + Box–Muller).
 */
export interface SignalSettings {
  enabled: boolean;
  lowHz: number;
  highHz: number;
  order: number;
  gain: number;
}

const NOISE_UV = 12;
/** Unfiltered, the noise is this much larger (what the filter's bands remove). */
const RAW_NOISE_FACTOR = 2.5;
const RHYTHM_UV = 15;
const RHYTHM_HZ = 8;
const SPIKES_PER_S = 4;

export class NeuralSimulator {
  private seed: number;
  private spare: number | null = null;
  private readonly hp: Float64Array;
  private readonly hpPrev: Float64Array;
  private lp: Float64Array[] = [];
  private readonly spikeAmp: Float64Array;
  private readonly spikeLeft: Int32Array;
  private readonly phase: Float64Array;
  private n = 0;
  private s: SignalSettings = { enabled: true, lowHz: 1, highHz: 100, order: 2, gain: 1 };
  /** The low-pass coefficient and the factor that keeps the filtered noise at NOISE_UV. */
  private aLp = 1;
  private norm = 1;

  constructor(
    readonly channels: number,
    readonly rate: number,
    seed = 20240601,
  ) {
    this.seed = seed >>> 0 || 1;
    this.hp = new Float64Array(channels);
    this.hpPrev = new Float64Array(channels);
    this.spikeAmp = new Float64Array(channels).map(() => 60 + 80 * this.uniform());
    this.spikeLeft = new Int32Array(channels);
    this.phase = new Float64Array(channels).map(() => 2 * Math.PI * this.uniform());
    this.apply(this.s);
  }

  /** The settings from the next sample on. */
  apply(s: SignalSettings): void {
    const order = Math.max(1, Math.min(8, Math.round(s.order)));
    while (this.lp.length < order) this.lp.push(new Float64Array(this.channels));
    this.lp.length = order;
    this.s = { ...s, order };
    this.aLp = 1 - Math.exp((-2 * Math.PI * Math.min(s.highHz, this.rate / 2)) / this.rate);
    this.norm = s.enabled ? 1 / Math.sqrt(cascadeEnergy(this.aLp, order)) : 1;
  }

  private uniform(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 2 ** 32;
  }

  private gauss(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u = Math.max(this.uniform(), 1e-12);
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The next `rows` samples, time first (`rows × channels` float32, µV). */
  next(rows: number): Float32Array {
    const out = new Float32Array(rows * this.channels);
    const { enabled, lowHz, gain } = this.s;
    const { aLp, norm } = this;
    const aHp = Math.exp((-2 * Math.PI * Math.max(lowHz, 0)) / this.rate);
    for (let i = 0; i < rows; i++, this.n++) {
      const t = this.n / this.rate;
      for (let c = 0; c < this.channels; c++) {
        let x = (enabled ? NOISE_UV : NOISE_UV * RAW_NOISE_FACTOR) * this.gauss();
        if (this.spikeLeft[c]! > 0) {
          const k = 4 - this.spikeLeft[c]!;
          x += (this.spikeAmp[c]! * [-1, -0.6, 0.5, 0.25][k]!) / norm;
          this.spikeLeft[c]!--;
        } else if (this.uniform() < SPIKES_PER_S / this.rate) {
          this.spikeLeft[c] = 4;
        }
        let y = x;
        if (enabled) {
          for (const st of this.lp) {
            st[c] = st[c]! + aLp * (y - st[c]!);
            y = st[c]!;
          }
          y *= norm;
          const hp = aHp * (this.hp[c]! + y - this.hpPrev[c]!);
          this.hpPrev[c] = y;
          this.hp[c] = hp;
          y = hp;
        }
        y += RHYTHM_UV * Math.sin(2 * Math.PI * RHYTHM_HZ * t + this.phase[c]!);
        out[i * this.channels + c] = gain * y;
      }
    }
    return out;
  }
}

/**
 * Energy of the impulse response of `order` one-pole low-passes with coefficient `a`: the
 * variance white noise keeps through them (so the noise's size stays the same whatever the cutoff
 * and only its bandwidth changes).
 */
function cascadeEnergy(a: number, order: number): number {
  const state = new Float64Array(order);
  let energy = 0;
  for (let i = 0; i < 20_000; i++) {
    let y = i === 0 ? 1 : 0;
    for (let k = 0; k < order; k++) {
      state[k] = state[k]! + a * (y - state[k]!);
      y = state[k]!;
    }
    energy += y * y;
    if (i > order * 10 && y * y < 1e-12 * energy) break;
  }
  return energy;
}
