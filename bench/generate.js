/**
 * The benchmark's event stream, written once per N as JSONL (the seed's field names) and read by
 * every contender. Deterministic (seeded PRNG), so runs are comparable.
 *
 * Shape: C components × 10 leaf settings of mixed kinds (float, int, bool, two strings, a float[4]
 * and an int[8] array, a nested mapping with an int and a string); an INITIAL snapshot (one event
 * per component, carrying its last-change time, in address order, so not in time order), the
 * `__init_final__` sentinel, then N UPDATED events. Each UPDATED changes one or two settings of one
 * component and carries that component's full settings (as ezmsg's settings events do). Every
 * setting keeps its kind (dtype and shape) for the whole stream, so no typed-column sink rotates.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export const COMPONENTS = 20;
export const SETTINGS_PER_COMPONENT = 10;

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float that both parsers keep a float: always written with a '.' (Python repr style). */
function float(n) {
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

const MODES = ["lowpass", "highpass", "bandpass", "bandstop", "notch"];
const WINDOWS = ["hann", "hamming", "blackman", "boxcar"];
const KINDS = ["gain", "cutoff_hz", "order", "enabled", "mode", "label", "weights", "channels", "window.size", "window.kind"];

function initialSettings(rand, i) {
  return {
    gain: Math.round(rand() * 1e4) / 1e3 + 0.001,
    cutoff_hz: Math.round(rand() * 3e5) / 1e3 + 0.5,
    order: 1 + Math.floor(rand() * 8),
    enabled: rand() < 0.8,
    mode: MODES[Math.floor(rand() * MODES.length)],
    label: `stage ${String(i).padStart(2, "0")} / ${Math.floor(rand() * 1e6).toString(36)}`,
    weights: [0, 1, 2, 3].map(() => Math.round(rand() * 2e3 - 1e3) / 1e3 + 0.0005),
    channels: [0, 1, 2, 3, 4, 5, 6, 7].map(() => Math.floor(rand() * 256)),
    window: { size: 64 * (1 + Math.floor(rand() * 16)), kind: WINDOWS[Math.floor(rand() * WINDOWS.length)] },
  };
}

function mutate(rand, s, i) {
  const k = KINDS[Math.floor(rand() * KINDS.length)];
  switch (k) {
    case "gain":
      s.gain = Math.round(rand() * 1e4) / 1e3 + 0.001;
      break;
    case "cutoff_hz":
      s.cutoff_hz = Math.round(rand() * 3e5) / 1e3 + 0.5;
      break;
    case "order":
      s.order = 1 + Math.floor(rand() * 8);
      break;
    case "enabled":
      s.enabled = !s.enabled;
      break;
    case "mode":
      s.mode = MODES[Math.floor(rand() * MODES.length)];
      break;
    case "label":
      s.label = `stage ${String(i).padStart(2, "0")} / ${Math.floor(rand() * 1e6).toString(36)}`;
      break;
    case "weights":
      s.weights[Math.floor(rand() * 4)] = Math.round(rand() * 2e3 - 1e3) / 1e3 + 0.0005;
      break;
    case "channels":
      s.channels[Math.floor(rand() * 8)] = Math.floor(rand() * 256);
      break;
    case "window.size":
      s.window.size = 64 * (1 + Math.floor(rand() * 16));
      break;
    case "window.kind":
      s.window.kind = WINDOWS[Math.floor(rand() * WINDOWS.length)];
      break;
  }
}

/** The settings object as JSON text: floats always floats, ints always ints. */
function settingsJson(s) {
  return (
    `{"gain": ${float(s.gain)}, "cutoff_hz": ${float(s.cutoff_hz)}, "order": ${s.order}, "enabled": ${s.enabled}, ` +
    `"mode": ${JSON.stringify(s.mode)}, "label": ${JSON.stringify(s.label)}, "weights": [${s.weights.map(float).join(", ")}], ` +
    `"channels": [${s.channels.join(", ")}], "window": {"size": ${s.window.size}, "kind": ${JSON.stringify(s.window.kind)}}}`
  );
}

function eventLine(seq, t, address, type, settings) {
  const structured = settings === null ? "null" : settingsJson(settings);
  const repr = settings === null ? '""' : structured;
  return (
    `{"seq": ${seq}, "timestamp": ${float(t)}, "component_address": ${JSON.stringify(address)}, "event_type": "${type}", ` +
    `"repr_value": ${repr}, "structured_value": ${structured}, "source_session_id": "bench-session", "table_name": "settings_annotations"}\n`
  );
}

export function componentAddress(i) {
  return `PIPELINE/STAGE_${String(i).padStart(2, "0")}/FILTER`;
}

/** Write the stream for N updates to `path`; returns counts. */
export async function generateStream(path, n, { components = COMPONENTS, seed = 20261128 } = {}) {
  const rand = prng(seed);
  const out = createWriteStream(path);
  const write = async (line) => {
    if (!out.write(line)) await once(out, "drain");
  };
  const states = [];
  let seq = 0;
  // Startup snapshot: in address order, each with its own last-change time in [0, 1) s.
  for (let i = 0; i < components; i++) {
    states.push(initialSettings(rand, i));
    await write(eventLine(seq++, Math.round(rand() * 1e6) / 1e6, componentAddress(i), "INITIAL", states[i]));
  }
  await write(eventLine(seq++, 1.0, "__init_final__", "INITIAL", null));
  let t = 1.0;
  for (let k = 0; k < n; k++) {
    t += Math.round((0.001 + rand() * 0.02) * 1e6) / 1e6;
    t = Math.round(t * 1e6) / 1e6;
    const i = Math.floor(rand() * components);
    mutate(rand, states[i], i);
    if (rand() < 0.3) mutate(rand, states[i], i);
    await write(eventLine(seq++, t, componentAddress(i), "UPDATED", states[i]));
  }
  out.end();
  await once(out, "finish");
  return { events: seq, initial: components, updates: n, lastTime: t };
}
