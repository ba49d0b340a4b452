import { appendFileSync, closeSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type PipelineSettingsEvent, makeSentinel } from "../../../src/events/event.js";
import { serializeEvent } from "../../../src/events/event-codec.js";
import { jsonObject, parseJson } from "../../../src/events/json.js";
import { JournalFormatError, decodeHeader, encodeHeader, journalPathFor } from "../../../src/journal/format.js";
import { readJournal } from "../../../src/journal/reader.js";
import { JournalError, JournalWriter, journalBeside } from "../../../src/journal/writer.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "journal-"));

const START = new Date("2026-03-01T10:00:00.123Z");
const info = (nwbPath: string) => ({
  nwbPath,
  sinks: ["annotations", "table"],
  meta: { session_description: "test", identifier: "abc", experimenter: ["Ada"], subject: { subject_id: "m1", species: "Mus musculus" } },
  sessionStartTime: START,
  timestampsReferenceTime: START,
  created: new Date("2026-03-01T10:00:01Z"),
  source: "test",
});

let seq = 0;
const ev = (t: number, component = "A", settings: string = '{"x": 1}'): PipelineSettingsEvent => ({
  seq: ++seq,
  timestamp: t,
  component_address: component,
  event_type: "UPDATED",
  repr_value: "",
  structured_value: parseJson(settings),
  source_session_id: null,
  table_name: "settings_annotations",
});

describe("journal format", () => {
  it("puts the journal beside the NWB file", () => {
    expect(journalPathFor("/data/run.nwb")).toBe("/data/run.nwb.journal.jsonl");
  });

  it("round-trips the header, with the NWB path relative to the journal", () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const line = encodeHeader(info(nwb), journalPathFor(nwb));
    expect(JSON.parse(line)).toMatchObject({ nwb_settings_journal: 1, nwb_file: "run.nwb", sinks: ["annotations", "table"] });
    const h = decodeHeader(line, journalPathFor(nwb), "J:1");
    expect(h.nwbPath).toBe(nwb);
    expect(h.meta.session_start_time.toISOString()).toBe(START.toISOString());
    expect(h.timestampsReferenceTime.toISOString()).toBe(START.toISOString());
    expect(h.meta.identifier).toBe("abc");
    expect(h.meta.subject).toEqual({ subject_id: "m1", species: "Mus musculus" });
    expect(h.created.toISOString()).toBe("2026-03-01T10:00:01.000Z");
    expect(h.source).toBe("test");
  });

  it.each([
    ["not json", "not JSON"],
    ['{"seq": 1}', "not a journal header"],
    ['{"nwb_settings_journal": 2}', "version 2 is not supported"],
    ['{"nwb_settings_journal": 1, "nwb_file": "", "sinks": ["annotations"]}', '"nwb_file"'],
    ['{"nwb_settings_journal": 1, "nwb_file": "a.nwb", "sinks": []}', '"sinks"'],
    ['{"nwb_settings_journal": 1, "nwb_file": "a.nwb", "sinks": ["annotations"], "session_start_time": "yesterday"}', "session_start_time"],
  ])("rejects the header %j", (line, problem) => {
    expect(() => decodeHeader(line, "/x/j", "J:1")).toThrow(JournalFormatError);
    expect(() => decodeHeader(line, "/x/j", "J:1")).toThrow(problem);
  });
});

describe("JournalWriter + readJournal", () => {
  it("journals events losslessly, in order, with the clean-close time", async () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb));
    const events = [
      ev(0, "A", '{"big": 123456789012345678901234567890, "f": 1.0, "nan": NaN, "inf": -Infinity, "neg0": -0.0}'),
      ev(0.1, "x/y z.", '{"": {"a/b": [1, 2.5, "é🎉"]}, "nul": "a\\u0000b", "lone": "\\ud800", "nl": "a\\nb\\r"}'),
      makeSentinel(++seq, 0.2),
      { ...ev(1e-7, "", '"not an object"'), event_type: "INITIAL" as const, repr_value: jsonObject({ r: "x" }), source_session_id: "s" },
    ];
    for (const e of events) w.append(e);
    expect(w.counters.accepted).toBe(4);
    await w.close(12.5);
    expect(w.counters.durable).toBe(4);
    const j = await readJournal(journalPathFor(nwb));
    expect(j.events.map((e) => serializeEvent(e.event))).toEqual(events.map(serializeEvent));
    expect(j.events.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(j.closeTime).toBe(12.5);
    expect(j.torn).toBeUndefined();
    expect(j.header.nwbPath).toBe(nwb);
  });

  it("refuses to replace an existing journal unless asked", async () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    await (await JournalWriter.create(journalPathFor(nwb), info(nwb))).close();
    await expect(JournalWriter.create(journalPathFor(nwb), info(nwb))).rejects.toThrow(/already exists.*recover/);
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb), { overwrite: true });
    await w.close();
  });

  it("makes an event durable within the sync interval without sync() being called", async () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb), { syncIntervalMs: 100 });
    for (let i = 0; i < 50; i++) w.append(ev(i));
    // Handed to the OS before append returns (then it survives a kill of the process), long before the sync.
    expect(w.counters).toMatchObject({ accepted: 50, written: 50, durable: 0 });
    const onDisk = readFileSync(journalPathFor(nwb), "utf8").trim().split("\n").length - 1;
    expect(onDisk).toBe(50);
    await new Promise((r) => setTimeout(r, 180));
    expect(w.counters.durable).toBe(50);
    expect(w.counters.maxSyncDelayMs).toBeLessThan(150);
    await w.close();
  });

  it("sync() makes everything appended so far durable", async () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb), { syncIntervalMs: 60_000 });
    const heard: number[] = [];
    w.onDurable((n) => heard.push(n)); // what the recorder's observers learn durability from
    for (let i = 0; i < 10; i++) w.append(ev(i));
    await w.sync();
    expect(w.counters).toMatchObject({ accepted: 10, written: 10, durable: 10 });
    expect(heard).toEqual([10]);
    w.append(ev(10));
    await w.sync();
    await w.sync(); // nothing new: no call
    expect(heard).toEqual([10, 11]);
    await w.close();
  });

  it("journalBeside creates <nwb>.journal.jsonl", async () => {
    const d = dir();
    const nwb = join(d, "r.nwb");
    const w = await journalBeside()(info(nwb));
    w.append(ev(1));
    await w.close();
    expect((await readJournal(join(d, "r.nwb.journal.jsonl"))).events).toHaveLength(1);
  });

  it("stops accepting after a failed write, and says why", async () => {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const errors: string[] = [];
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb), { onError: (e) => errors.push(e.message) });
    w.append(ev(1));
    // Sabotage the file: the next write fails (EBADF here; a full disk gives ENOSPC the same way).
    closeSync((w as unknown as { fh: { fd: number } }).fh.fd);
    expect(() => w.append(ev(2))).toThrow(JournalError);
    expect(errors[0]).toMatch(/cannot be written \(EBADF/);
    expect(() => w.append(ev(3))).toThrow(/no longer accepted/);
    await expect(w.sync()).rejects.toThrow(JournalError);
    expect(w.counters.accepted).toBe(1);
    await w.close().catch(() => undefined);
  });
});

describe("readJournal on damaged journals", () => {
  async function journalWith(lines: string[], tail = ""): Promise<string> {
    const d = dir();
    const nwb = join(d, "run.nwb");
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb));
    await w.close();
    appendFileSync(journalPathFor(nwb), lines.map((l) => `${l}\n`).join("") + tail);
    return journalPathFor(nwb);
  }
  const good = (t: number) => serializeEvent(ev(t));

  it("ignores and reports a torn last line", async () => {
    const full = good(2);
    const path = await journalWith([good(1)], full.slice(0, 40));
    const j = await readJournal(path);
    expect(j.events).toHaveLength(1);
    expect(j.torn).toMatchObject({ line: 3, bytes: 40 });
    expect(j.closeTime).toBeUndefined();
  });

  it("keeps a complete last line that lost only its newline", async () => {
    const j = await readJournal(await journalWith([good(1)], good(2)));
    expect(j.events).toHaveLength(2);
    expect(j.torn).toBeUndefined();
  });

  it("keeps a torn multi-byte character at the end as a torn line", async () => {
    const path = await journalWith([good(1)]);
    appendFileSync(path, Buffer.from([0x7b, 0x22, 0xe2, 0x82]));
    const j = await readJournal(path);
    expect(j.events).toHaveLength(1);
    expect(j.torn?.problem).toMatch(/UTF-8/);
  });

  it.each([
    ["garbage", "not json at all", /:3: /],
    ["a wrong event", '{"seq": "1"}', /:3: .*"event_type"/],
    ["a second header", '{"nwb_settings_journal": 1}', /:3: a second journal header/],
  ])("fails on %s in the middle, naming FILE:LINE", async (_name, bad, message) => {
    const path = await journalWith([good(1), bad, good(2)]);
    await expect(readJournal(path)).rejects.toThrow(message);
  });

  it("fails on invalid UTF-8 in the middle", async () => {
    const path = await journalWith([good(1)]);
    appendFileSync(path, Buffer.concat([Buffer.from('{"a": "'), Buffer.from([0xff]), Buffer.from('"}\n'), Buffer.from(`${good(3)}\n`)]));
    await expect(readJournal(path)).rejects.toThrow(/:3: not valid UTF-8/);
  });

  it("fails clearly on a file that is not a journal", async () => {
    const d = dir();
    writeFileSync(join(d, "log.jsonl"), `${good(1)}\n`);
    await expect(readJournal(join(d, "log.jsonl"))).rejects.toThrow(/:1: not a journal header/);
    writeFileSync(join(d, "empty"), "");
    await expect(readJournal(join(d, "empty"))).rejects.toThrow(/empty file/);
    await expect(readJournal(join(d, "missing"))).rejects.toThrow(/no such file/);
  });

  it("reads lines of 10 MB", async () => {
    const big = ev(1, "A", JSON.stringify({ s: "x".repeat(10 * 1024 * 1024) }));
    const d = dir();
    const nwb = join(d, "run.nwb");
    const w = await JournalWriter.create(journalPathFor(nwb), info(nwb));
    w.append(big);
    w.append(ev(2));
    await w.close(3);
    const j = await readJournal(journalPathFor(nwb));
    expect(j.events).toHaveLength(2);
    expect(serializeEvent(j.events[0]!.event)).toBe(serializeEvent(big));
  });
});
