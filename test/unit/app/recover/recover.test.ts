/**
 * recover against recordings made the way the recorder makes them (journal first, then sinks):
 * complete, behind (a copy of the file taken after a flush, as a kill leaves it), damaged, missing,
 * segments, --out, idempotence and overwrite refusal.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type SinkName, SinkSet } from "../../../../src/sinks/sink-set.js";
import { RecoverRefusedError, countRows, describeState, recoverRecording } from "../../../../src/app/recover/recover.js";
import { type PipelineSettingsEvent, makeSentinel } from "../../../../src/events/event.js";
import { parseJson } from "../../../../src/events/json.js";
import { h5wasm, loadHdf5 } from "../../../../src/nwb/hdf5/h5wasm.js";
import { SegmentedOutput } from "../../../../src/output/segmented-output.js";
import { journalPathFor } from "../../../../src/journal/format.js";
import { JournalWriter } from "../../../../src/journal/writer.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "recover-"));
const START = new Date("2026-03-01T10:00:00Z");

let seq = 0;
const ev = (t: number, component: string, type: "INITIAL" | "UPDATED", settings: string): PipelineSettingsEvent => ({
  seq: ++seq,
  timestamp: t,
  component_address: component,
  event_type: type,
  repr_value: "",
  structured_value: parseJson(settings),
  source_session_id: null,
  table_name: "settings_annotations",
});

function stream(n: number, rotateAt?: number): PipelineSettingsEvent[] {
  const out = [ev(0, "A", "INITIAL", '{"gain": 1}'), ev(0.5, "B", "INITIAL", '{"mode": "x"}'), makeSentinel(++seq, 1)];
  for (let i = 0; i < n; i++) {
    const t = 2 + i * 0.1;
    out.push(
      i === rotateAt ? ev(t, "A", "UPDATED", '{"gain": "now text"}') : ev(t, i % 2 ? "A" : "B", "UPDATED", i % 2 ? `{"gain": ${i}}` : `{"mode": "m${i}"}`),
    );
  }
  return out;
}

interface Live {
  nwb: string;
  journal: string;
  /** Copies of the segment files taken right after the flush following event `snapshotAfter`. */
  snapshot: string[];
}

/** Record like the recorder: journal.append then sinks.write; flush every `flushEvery`; close cleanly or not. */
async function record(
  events: PipelineSettingsEvent[],
  opts: { sinks?: SinkName[]; clean?: boolean; snapshotAfter?: number; flushEvery?: number } = {},
): Promise<Live> {
  const d = dir();
  const nwb = join(d, "rec.nwb");
  const sinks = opts.sinks ?? ["annotations"];
  const meta = { session_description: "recover test", identifier: "id-1", session_start_time: START };
  const journal = await JournalWriter.create(journalPathFor(nwb), {
    nwbPath: nwb,
    sinks,
    meta,
    sessionStartTime: START,
    timestampsReferenceTime: START,
    created: START,
  });
  const output = new SegmentedOutput(nwb, meta, { timestampsReferenceTime: START, now: START });
  const set = new SinkSet(sinks, output);
  const snapshot: string[] = [];
  let last = 0;
  for (const [i, e] of events.entries()) {
    journal.append(e);
    await set.write(e);
    last = e.timestamp;
    if (opts.flushEvery && (i + 1) % opts.flushEvery === 0) set.flush();
    if (opts.snapshotAfter === i + 1) {
      set.flush();
      for (const s of output.segments) {
        copyFileSync(s.path, `${s.path}.snap`);
        snapshot.push(s.path);
      }
    }
  }
  await journal.sync();
  if (opts.clean === false) {
    // A crash: the live file is whatever the last flush left; the process never closes it.
    set.flush();
    await journal.close();
  } else {
    await set.close(last + 1);
    await journal.close(last + 1);
  }
  return { nwb, journal: journalPathFor(nwb), snapshot };
}

/** Every row of every series/table of each segment (values as JSON-able text), for equality checks. */
async function content(paths: string[]): Promise<string> {
  await loadHdf5();
  const out: unknown[] = [];
  for (const p of paths) {
    const f = new h5wasm.File(p, "r");
    try {
      const walk = (g: InstanceType<typeof h5wasm.Group>, at: string): void => {
        for (const k of g.keys().sort()) {
          const o = f.get(`${at}/${k}`);
          if (o instanceof h5wasm.Group) walk(o, `${at}/${k}`);
          else if (o instanceof h5wasm.Dataset && !at.startsWith("/specifications") && k !== "file_create_date") {
            out.push([`${at}/${k}`, Array.from((o.value as ArrayLike<unknown>) ?? [], (v) => String(v))]);
          }
        }
      };
      walk(f.get("/") as InstanceType<typeof h5wasm.Group>, "");
    } finally {
      f.close();
    }
  }
  return JSON.stringify(out);
}

describe("recover", () => {
  it("finds a cleanly closed recording complete and leaves it alone", async () => {
    const live = await record(stream(20), { sinks: ["annotations", "table"] });
    const before = await content([live.nwb]);
    const r = await recoverRecording(live.journal);
    expect(r.state).toBe("complete");
    expect(describeState(r)).toBe("complete");
    expect(r.cleanClose).toBe(true);
    expect(r.action).toBe("none");
    expect(await content([live.nwb])).toBe(before);
  });

  it("rebuilds exactly the rows of the live recording", async () => {
    const live = await record(stream(30), { sinks: ["annotations", "table"] });
    const out = join(dir(), "rebuilt.nwb");
    const r = await recoverRecording(live.journal, { out });
    expect(r.action).toBe("rebuilt");
    expect(r.outputs).toEqual([out]);
    const norm = (s: string) => s.replace(/"[0-9a-f-]{36}"/g, "UUID");
    expect(norm(await content([out]))).toBe(norm(await content([live.nwb])));
  });

  it("says how far behind a killed recording is and rebuilds it with --overwrite", async () => {
    const events = stream(40);
    const live = await record(events, { snapshotAfter: 13, clean: false });
    // The file as a kill after event 13's flush leaves it (a new inode: HDF5 would otherwise share
    // the still-open live file's state within this process).
    unlinkSync(live.nwb);
    copyFileSync(`${live.nwb}.snap`, live.nwb);
    const check = await recoverRecording(live.journal, { checkOnly: true });
    expect(check.state).toBe("behind");
    expect(check.cleanClose).toBe(false);
    expect(check.behindEvents).toBe(events.length - 13);
    expect(describeState(check)).toMatch(new RegExp(`^behind by ${events.length - 13} events \\(\\d+ rows missing\\)`));
    await expect(recoverRecording(live.journal)).rejects.toThrow(RecoverRefusedError);
    await expect(recoverRecording(live.journal)).rejects.toThrow(/is behind by 30 events.*--overwrite/);
    const r = await recoverRecording(live.journal, { overwrite: true });
    expect(r.action).toBe("rebuilt");
    const { rows } = await countRows(live.nwb);
    expect(rows.get("acquisition/settings_annotations")).toBe(events.length - 1); // every event but the sentinel
    // Idempotent: now complete, nothing written.
    const again = await recoverRecording(live.journal, { overwrite: true });
    expect(again.state).toBe("complete");
    expect(again.action).toBe("none");
  });

  it("finds a killed-but-flushed table recording complete: its open row was on disk, rewritten in place", async () => {
    const live = await record(stream(10), { sinks: ["table"], clean: false });
    const check = await recoverRecording(live.journal, { checkOnly: true });
    expect(check.cleanClose).toBe(false);
    expect(check.state).toBe("complete");
    expect(check.behindEvents).toBe(0);
  });

  it("calls a garbage file damaged and a deleted one missing", async () => {
    const live = await record(stream(5));
    writeFileSync(live.nwb, "this is not HDF5");
    const damaged = await recoverRecording(live.journal, { checkOnly: true });
    expect(damaged.state).toBe("damaged");
    expect(describeState(damaged)).toMatch(/^damaged \(rec\.nwb: cannot be read/);
    await expect(recoverRecording(live.journal)).rejects.toThrow(/already exists; use --overwrite/);
    expect((await recoverRecording(live.journal, { overwrite: true })).action).toBe("rebuilt");
    expect((await recoverRecording(live.journal, { checkOnly: true })).state).toBe("complete");

    const gone = await record(stream(5));
    unlinkSync(gone.nwb);
    const r = await recoverRecording(gone.journal);
    expect(r.state).toBe("missing");
    expect(r.action).toBe("rebuilt");
    expect(existsSync(gone.nwb)).toBe(true);
  });

  it("calls a table with columns of different lengths (a torn row) damaged", async () => {
    const live = await record(stream(6), { sinks: ["table"] });
    await loadHdf5();
    const f = new h5wasm.File(live.nwb, "a");
    const id = f.get("intervals/pipeline_settings/id") as InstanceType<typeof h5wasm.Dataset>;
    id.resize([id.shape![0]! - 1]);
    f.close();
    const check = await recoverRecording(live.journal, { checkOnly: true });
    expect(check.state).toBe("damaged");
    expect(describeState(check)).toMatch(/intervals\/pipeline_settings has columns of different lengths \(id: \d+, start_time: \d+/);
    await recoverRecording(live.journal, { overwrite: true });
    expect((await recoverRecording(live.journal, { checkOnly: true })).state).toBe("complete");
  });

  it("checks and rebuilds every segment of a rotating table", async () => {
    const live = await record(stream(12, 6), { sinks: ["annotations", "table"] });
    const names = readdirSync(join(live.nwb, ".."))
      .filter((n) => n.endsWith(".nwb"))
      .sort();
    expect(names).toEqual(["rec.nwb", "rec_01.nwb", "rec_02.nwb"]); // int → text → int
    expect((await recoverRecording(live.journal, { checkOnly: true })).state).toBe("complete");
    unlinkSync(join(live.nwb, "..", "rec_02.nwb"));
    const check = await recoverRecording(live.journal, { checkOnly: true });
    expect(check.state).toBe("behind");
    expect(check.segments.map((s) => s.state)).toEqual(["complete", "complete", "missing"]);
    const r = await recoverRecording(live.journal, { overwrite: true });
    expect(r.outputs.map((p) => p.split("/").pop())).toEqual(names);
    expect((await recoverRecording(live.journal, { checkOnly: true })).state).toBe("complete");
  });

  it("never overwrites --out without --overwrite, and two rebuilds are equal", async () => {
    const live = await record(stream(8), { sinks: ["annotations", "table"], clean: false });
    const out = join(dir(), "copy.nwb");
    await recoverRecording(live.journal, { out });
    const first = await content([out]);
    await expect(recoverRecording(live.journal, { out })).rejects.toThrow(/copy\.nwb already exists; use --overwrite to replace$/);
    await recoverRecording(live.journal, { out, overwrite: true });
    expect(await content([out])).toBe(first);
    // No temporary folders left behind.
    expect(readdirSync(join(out, "..")).filter((n) => n.includes("recover"))).toEqual([]);
  });
});
