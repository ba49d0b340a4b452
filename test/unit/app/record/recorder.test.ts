import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type EventJournal, Recorder } from "../../../../src/app/record/recorder.js";
import type { DurabilityReport } from "../../../../src/app/record/recording-observer.js";
import { type NwbSettingsError, isFatal, isNwbSettingsError } from "../../../../src/errors.js";
import { type PipelineSettingsEvent, makeSentinel } from "../../../../src/events/event.js";
import { jsonObject } from "../../../../src/events/json.js";
import { describeNwb } from "../../../../src/nwb/describe.js";
import { h5wasm, openHdf5 } from "../../../../src/nwb/hdf5/h5wasm.js";

const ev = (seq: number, t: number, addr: string, type: "INITIAL" | "UPDATED", gain: number): PipelineSettingsEvent => ({
  seq,
  timestamp: t,
  component_address: addr,
  event_type: type,
  repr_value: "",
  structured_value: jsonObject({ gain }),
  source_session_id: null,
  table_name: "settings_annotations",
});

/** An event stream the test drives: push events, end it; next() waits like a live producer. */
class Stream implements AsyncIterable<PipelineSettingsEvent> {
  private queue: PipelineSettingsEvent[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  push(...e: PipelineSettingsEvent[]): void {
    this.queue.push(...e);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<PipelineSettingsEvent> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

async function timestamps(path: string, dataset: string): Promise<number[]> {
  const { file } = await openHdf5(path, "r");
  try {
    const d = file.get(dataset);
    if (!(d instanceof h5wasm.Dataset)) throw new Error(`${dataset} missing`);
    return Array.from(d.value as Float64Array);
  } finally {
    file.close();
  }
}

describe("Recorder", () => {
  it("stores times from the earliest startup event, journals every event before the sinks, closes at stop", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    let mono = 100; // the producer's monotonic clock, seconds
    const journaled: PipelineSettingsEvent[] = [];
    let closedAt: number | undefined;
    const journal: EventJournal = {
      append: (e) => journaled.push(e),
      close: async (t) => {
        closedAt = t;
      },
    };
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations", "table"],
      meta: { session_description: "t" },
      overwrite: false,
      journal: async () => journal,
      monotonicNow: () => mono,
      wallNow: () => new Date("2026-01-01T00:00:10Z"),
      onEvent: (e) => {
        // journal first: by the time a sink has the event, the journal has it too
        expect(journaled.at(-1)).toEqual(e);
      },
    });
    const stream = new Stream();
    // startup snapshot: last changes at 95 and 90 (before the recording started at 100)
    stream.push(ev(2, 95, "B", "INITIAL", 2.0), ev(1, 90, "A", "INITIAL", 1.0), makeSentinel(2, 95));
    const done = rec.run(stream);
    await new Promise((r) => setTimeout(r, 20));
    stream.push(ev(3, 101, "A", "UPDATED", 3.0));
    await new Promise((r) => setTimeout(r, 20));
    mono = 104;
    rec.requestStop();
    stream.end();
    const stats = await done;

    expect(stats.events).toBe(4);
    expect(journaled.map((e) => e.timestamp)).toEqual([5, 0, 5, 11]); // file time = t - 90
    expect(closedAt).toBe(14);
    expect(await timestamps(out, "acquisition/settings_annotations/timestamps")).toEqual([0, 5, 11]);
    // the startup state starts at the first buffered INITIAL (B, in arrival order); no anchor rows
    expect(await timestamps(out, "intervals/pipeline_settings/start_time")).toEqual([5, 11]);
    expect(await timestamps(out, "intervals/pipeline_settings/stop_time")).toEqual([11, 14]);
  });

  it("does not wait forever for a startup snapshot, and keeps the event that arrives late", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    const rec = new Recorder({ outPath: out, sinks: ["annotations"], meta: { session_description: "t" }, overwrite: false, startupWaitMs: 30 });
    const stream = new Stream();
    const done = rec.run(stream);
    await new Promise((r) => setTimeout(r, 80)); // past the startup wait with nothing received
    stream.push(ev(1, performance.now() / 1000, "A", "UPDATED", 1.0));
    await new Promise((r) => setTimeout(r, 20));
    rec.requestStop();
    stream.end();
    const stats = await done;
    expect(stats.events).toBe(1);
    expect((await describeNwb(out)).map((o) => [o.path, o.rows])).toEqual([["/acquisition/settings_annotations", 1]]);
  });

  it("stops waiting for a startup snapshot as soon as the source says its sync is over", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    let live = false;
    let journalAt: number | undefined;
    const t0 = Date.now();
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations"],
      meta: { session_description: "t" },
      overwrite: false,
      startupWaitMs: 5000,
      startupComplete: () => live,
      journal: async () => {
        journalAt = Date.now() - t0;
        return { append: () => undefined, close: async () => undefined };
      },
    });
    const stream = new Stream();
    const done = rec.run(stream);
    setTimeout(() => (live = true), 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(journalAt).toBeDefined(); // the journal exists long before the 5 s wait would end
    expect(journalAt!).toBeLessThan(1000);
    rec.requestStop();
    stream.end();
    await done;
  });

  it("writes the JSON rows of components that join later once they go quiet; their table row waits for a change", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations", "table"],
      meta: { session_description: "t" },
      overwrite: false,
      startupComplete: () => true,
      flushIntervalMs: 40,
    });
    const stream = new Stream();
    const done = rec.run(stream);
    await new Promise((r) => setTimeout(r, 60)); // an empty graph: the startup is over
    // a pipeline starts: its components arrive as a run of INITIAL events, then nothing changes
    const now = performance.now() / 1000;
    stream.push(ev(1, now, "B", "INITIAL", 2.0), ev(2, now, "A", "INITIAL", 1.0));
    await new Promise((r) => setTimeout(r, 20));
    expect(rec.segments().map((s) => s.rows)).toEqual([]); // still one run: held for merging
    const deadline = Date.now() + 3000;
    while (rec.segments()[0]?.rows !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // the two JSON rows, written without any UPDATED; the table's first row (A and B merged) is not
    // written yet: its columns are fixed then, and more components may still be registering
    await new Promise((r) => setTimeout(r, 150));
    expect(rec.segments().map((s) => s.rows)).toEqual([2]);
    stream.push(ev(3, performance.now() / 1000, "A", "UPDATED", 3.0));
    await new Promise((r) => setTimeout(r, 20));
    rec.requestStop();
    stream.end();
    await done;
    const described = await describeNwb(out);
    expect(described.map((o) => [o.path, o.rows])).toEqual([
      ["/acquisition/settings_annotations", 3],
      ["/intervals/pipeline_settings", 2],
    ]);
  });

  it("writes no file when nothing was recorded", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    const rec = new Recorder({ outPath: out, sinks: ["annotations", "table"], meta: { session_description: "t" }, overwrite: false, startupWaitMs: 10 });
    const stream = new Stream();
    const done = rec.run(stream);
    stream.end();
    const stats = await done;
    expect(stats.outputs).toEqual([]);
  });

  it("ends the recording with an OutputError naming the file when the output cannot be created", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "blocked.nwb");
    await mkdir(out); // a directory where the file should go
    const journaled: PipelineSettingsEvent[] = [];
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations", "table"],
      meta: { session_description: "t" },
      overwrite: false,
      startupWaitMs: 10,
      journal: async () => ({ append: (e) => void journaled.push(e), close: async () => undefined }),
    });
    const stream = new Stream();
    const done = rec.run(stream);
    stream.push(ev(1, 1, "A", "INITIAL", 1), ev(2, 2, "B", "INITIAL", 1), makeSentinel(3, 2), ev(4, 3, "A", "UPDATED", 2));
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isNwbSettingsError(err, "ERR_OUTPUT_FAILED")).toBe(true);
    expect(isFatal(err)).toBe(true);
    expect((err as NwbSettingsError).file).toBe(out);
    expect((err as Error).message).toContain(out);
    expect(rec.stats.rejected).toBe(0); // not counted as rejected events: the run ended
    expect(journaled.length).toBeGreaterThan(0); // what was accepted is in the journal for recover
    stream.end();
  });

  it("ends the recording when a timed flush fails, even while no event arrives", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations"],
      meta: { session_description: "t" },
      overwrite: false,
      startupWaitMs: 10,
      flushIntervalMs: 20,
    });
    const stream = new Stream();
    const done = rec.run(stream);
    stream.push(ev(1, 1, "A", "UPDATED", 1));
    await new Promise((r) => setTimeout(r, 100));
    // Break the file under the recorder: the HDF5 handle is closed behind its back.
    const sinks = (rec as unknown as { sinks: { output: { open?: { file: { close(): void } } } } }).sinks;
    sinks.output.open!.file.close();
    stream.push(ev(2, 2, "A", "UPDATED", 2));
    const err = await Promise.race([
      done.then(
        () => "resolved",
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r("still running"), 5000)),
    ]);
    expect(isNwbSettingsError(err, "ERR_OUTPUT_FAILED")).toBe(true);
    expect((err as Error).message).toContain(out);
    stream.end();
  });
});

/** Wait (event loop turns) until `cond` holds; a loaded machine may take a while to create the file. */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Recorder observers (the monitor's view)", () => {
  it("tells accepted events, the latest state to a late observer, and each event's time to durable in the journal and in the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    let mono = 100;
    let syncJournal: ((durable: number) => void) | undefined;
    let appended = 0;
    const rec = new Recorder({
      outPath: out,
      sinks: ["annotations", "table"],
      meta: { session_description: "t" },
      overwrite: false,
      flushIntervalMs: 3_600_000, // flushes only where the test says (startup, close)
      monotonicNow: () => mono,
      journal: async () => ({
        append: () => void appended++,
        close: async () => undefined,
        onDurable: (l) => (syncJournal = l),
      }),
    });
    const seen: string[] = [];
    const durable: DurabilityReport[] = [];
    rec.observe({
      accepted: (e) => seen.push(`${e.component_address}@${e.timestamp}`),
      durable: (r) => durable.push(r),
    });
    const stream = new Stream();
    stream.push(ev(2, 95, "B", "INITIAL", 2.0), ev(1, 90, "A", "INITIAL", 1.0), makeSentinel(2, 95));
    const done = rec.run(stream);
    await until("the startup snapshot", () => rec.state === "recording" && seen.length === 3);
    expect(seen).toEqual(["B@5", "A@0", "__init_final__@5"]);
    // startup INITIALs carry the time of an old change: not a latency
    syncJournal!(3);
    expect(durable).toEqual([]);

    stream.push(ev(3, 101, "A", "UPDATED", 3.0), ev(4, 102, "B", "UPDATED", 4.0));
    await until("both updates", () => seen.length === 5);
    mono = 102.25; // the journal's fdatasync of both ends at 102.25
    syncJournal!(5);
    expect(durable).toEqual([{ where: "journal", at: 12.25, events: 2, oldestSeconds: 1.25, newestSeconds: 0.25 }]);

    // a late observer gets the latest event of every component at once
    let late: string[] = [];
    const stopLate = rec.observe({ current: (evs) => (late = evs.map((e) => `${e.component_address}:${e.seq}`).sort()) });
    expect(late).toEqual(["A:3", "B:4"]);
    stopLate();

    mono = 103.5; // the file's flush at close
    rec.requestStop();
    stream.end();
    await done;
    expect(rec.state).toBe("stopped");
    expect(durable[1]).toEqual({ where: "file", at: 13.5, events: 2, oldestSeconds: 2.5, newestSeconds: 1.5 });
    expect(rec.segments().map((s) => [s.path, s.index])).toEqual([[out, 0]]);
    expect(appended).toBe(5);
  });

  it("a throwing observer does not disturb the recording", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rec-"));
    const out = join(dir, "r.nwb");
    const rec = new Recorder({ outPath: out, sinks: ["annotations"], meta: { session_description: "t" }, overwrite: false, startupWaitMs: 10 });
    rec.observe({
      accepted: () => {
        throw new Error("observer bug");
      },
      current: () => {
        throw new Error("observer bug");
      },
    });
    const stream = new Stream();
    const done = rec.run(stream);
    stream.push(ev(1, performance.now() / 1000, "A", "UPDATED", 1.0));
    await until("the event", () => rec.stats.events === 1);
    rec.requestStop();
    stream.end();
    expect((await done).events).toBe(1);
  });
});
