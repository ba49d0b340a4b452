/**
 * `restore FILE --at T --to TARGET`: push the settings state a recording says was in effect at
 * file time T back into a running pipeline, component by component, and report per field what
 * changed, what already matched and what could not be set. `dryRun` plans and sends nothing.
 *
 * Flow: read the state at T ({@link SettingsStateReader}) → read the target's live settings →
 * {@link planRestore} → apply each component's changes → read the live settings again until
 * every change shows (or `verifyTimeoutMs` passes: then the change is `not-applied`).
 */
import { UsageError } from "../../errors.js";
import type { JsonValue } from "../../events/json.js";
import { type ComponentPlan, type LiveComponent, type RestorePlan, planRestore, sameValue } from "./plan.js";
import { annotationStateReader, type SettingsState, type SettingsStateReader } from "./file-state.js";
import { EzmsgTarget } from "./ezmsg-target.js";
import { HubTarget } from "./hub-target.js";
import { parseGraphAddress } from "../../ezmsg/graph-client.js";

/** What a pipeline must offer restore. */
export interface RestoreTarget {
  readonly description: string;
  /** The live settings of every component. */
  live(): Promise<Map<string, LiveComponent>>;
  /** Apply a component's `change` fields; one outcome per change field (by path). */
  apply(component: ComponentPlan): Promise<Map<string, ApplyOutcome>>;
  close(): Promise<void>;
}

export type ApplyOutcome = { ok: true } | { ok: false; error: string };

/** Final status of a `change` field after applying. */
export type ChangeStatus = "changed" | "failed" | "not-applied" | "planned";

export interface RestoreReport {
  file: string;
  files: string[];
  target: string;
  at: number;
  dryRun: boolean;
  plan: RestorePlan;
  /** component → path → status (and error) of each `change` field. */
  outcomes: Map<string, Map<string, { status: ChangeStatus; error?: string }>>;
  counts: { changed: number; matched: number; cannot: number; failed: number; notApplied: number; planned: number; gone: number };
  /** True when the pipeline now holds (or, dry run: would hold) everything the file says at T. */
  complete: boolean;
}

export interface RestoreOptions {
  /** File seconds, or as `show --at` takes it: seconds, HH:MM:SS[.ffffff] (wall clock) or ISO 8601. */
  at: number | string;
  to: string;
  dryRun?: boolean;
  /** How long ezmsg may take for one field (server-side wait for the process), seconds. Default 5. */
  fieldTimeoutSeconds?: number;
  /** How long to wait for the changes to show in the live settings. Default 5000 ms. */
  verifyTimeoutMs?: number;
  reader?: SettingsStateReader;
  /** For tests: a ready target instead of `to`. */
  target?: RestoreTarget;
}

/** Open the target a `--to` names: `ezmsg://HOST:PORT` (bare `ezmsg://`: the default GraphServer) or `ws://HOST:PORT` (a hub). */
export async function openTarget(to: string, fieldTimeoutSeconds: number): Promise<RestoreTarget> {
  if (to.startsWith("ezmsg://")) return EzmsgTarget.open(to.slice("ezmsg://".length), fieldTimeoutSeconds);
  if (to.startsWith("ws://") || to.startsWith("wss://")) return HubTarget.open(to, fieldTimeoutSeconds);
  throw new UsageError(`--to ${JSON.stringify(to)} is not a pipeline to restore into; give ezmsg://HOST:PORT (a GraphServer) or ws://HOST:PORT (a hub)`);
}

/** Refuse a `--to` that cannot name a target before anything is read or opened (a wrong call: exit 2). */
export function checkTarget(to: string): void {
  if (to.startsWith("ezmsg://")) {
    const addr = to.slice("ezmsg://".length);
    if (addr !== "") {
      try {
        parseGraphAddress(addr);
      } catch (err) {
        throw new UsageError(`--to ${to}: ${(err as Error).message}`);
      }
    }
    return;
  }
  if (to.startsWith("ws://") || to.startsWith("wss://")) return;
  throw new UsageError(`--to ${JSON.stringify(to)} is not a pipeline to restore into; give ezmsg://HOST:PORT (a GraphServer) or ws://HOST:PORT (a hub)`);
}

export async function restore(file: string, options: RestoreOptions): Promise<RestoreReport> {
  if (options.target === undefined) checkTarget(options.to);
  const reader = options.reader ?? annotationStateReader;
  const state: SettingsState = await reader.stateAt(file, options.at);
  if (state.components.size === 0) {
    throw new UsageError(`no settings were in effect at ${state.at} s (file time) in ${file}: its settings start at ${state.first} s`);
  }
  const fieldTimeout = options.fieldTimeoutSeconds ?? 5;
  const target = options.target ?? (await openTarget(options.to, fieldTimeout));
  try {
    const plan = planRestore(state, await target.live());
    const outcomes = new Map<string, Map<string, { status: ChangeStatus; error?: string }>>();
    for (const c of plan.components) {
      const changes = c.fields.filter((f) => f.kind === "change");
      if (changes.length === 0) continue;
      const m = new Map<string, { status: ChangeStatus; error?: string }>();
      outcomes.set(c.component, m);
      if (options.dryRun) {
        for (const f of changes) m.set(f.path, { status: "planned" });
        continue;
      }
      const applied = await target.apply(c);
      for (const f of changes) {
        const o = applied.get(f.path) ?? { ok: false, error: "not sent" };
        m.set(f.path, o.ok ? { status: "changed" } : { status: "failed", error: o.error });
      }
    }
    if (!options.dryRun) await verify(target, plan, outcomes, options.verifyTimeoutMs ?? 5000);
    return report(file, state, target.description, plan, outcomes, options.dryRun ?? false);
  } finally {
    await target.close();
  }
}

/** The value at a dotted field path of a live component's structured settings. */
function liveAt(live: LiveComponent | undefined, path: string): unknown {
  let v: unknown = live?.structured;
  for (const k of path.split(".")) {
    if (!(v instanceof Map) || !v.has(k)) return undefined;
    v = v.get(k);
  }
  return v;
}

/** Poll the live settings until every sent change shows; what never shows is `not-applied`. */
async function verify(target: RestoreTarget, plan: RestorePlan, outcomes: RestoreReport["outcomes"], timeoutMs: number): Promise<void> {
  const todo: [string, string, { to: JsonValue; value: unknown }][] = [];
  for (const c of plan.components) {
    for (const f of c.fields) {
      if (f.kind === "change" && outcomes.get(c.component)?.get(f.path)?.status === "changed") todo.push([c.component, f.path, { to: f.to, value: f.value }]);
    }
  }
  if (todo.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let missing = todo;
  for (;;) {
    const live = await target.live();
    missing = todo.filter(([comp, path, w]) => {
      const have = liveAt(live.get(comp), path);
      if (have === undefined) return true;
      const h = have as JsonValue;
      // A float sent for a recorded integer (see plan.ts) shows as that float.
      return !sameValue(w.to, h) && !(typeof w.value === "number" && sameValue(w.value, h));
    });
    if (missing.length === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const [comp, path] of missing) {
    outcomes.get(comp)!.set(path, {
      status: "not-applied",
      error: `acknowledged, but the pipeline's settings did not show it within ${timeoutMs} ms`,
    });
  }
}

function report(file: string, state: SettingsState, target: string, plan: RestorePlan, outcomes: RestoreReport["outcomes"], dryRun: boolean): RestoreReport {
  const counts = { changed: 0, matched: 0, cannot: 0, failed: 0, notApplied: 0, planned: 0, gone: 0 };
  for (const c of plan.components) {
    if (c.status !== "present") counts.gone++;
    for (const f of c.fields) {
      if (f.kind === "match") counts.matched++;
      else if (f.kind === "cannot") counts.cannot++;
      else {
        const s = outcomes.get(c.component)?.get(f.path)?.status;
        if (s === "changed") counts.changed++;
        else if (s === "planned") counts.planned++;
        else if (s === "not-applied") counts.notApplied++;
        else counts.failed++;
      }
    }
  }
  const complete = counts.gone === 0 && counts.cannot === 0 && counts.failed === 0 && counts.notApplied === 0;
  return { file, files: state.files, target, at: plan.at, dryRun, plan, outcomes, counts, complete };
}
