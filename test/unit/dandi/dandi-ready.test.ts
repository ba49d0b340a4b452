/**
 * #12 pieces that need no file: the DANDI metadata warnings, the metadata template, DANDI file
 * names (and their segments), the JSONL end record, and the table's chunk sizing.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { META_TEMPLATE } from "../../../src/cli/commands/meta.js";
import { dandiNameFor } from "../../../src/cli/commands/convert.js";
import { dandiGaps } from "../../../src/nwb/dandi-requirements.js";
import { parseMetadata, parseYaml } from "../../../src/nwb/metadata.js";
import { type ColumnSpec, tableChunkRows } from "../../../src/nwb/time-intervals.js";
import { NwbFile } from "../../../src/nwb/nwb-file.js";
import { existingOutputFiles, segmentPath } from "../../../src/output/segment-names.js";
import { readEventLog } from "../../../src/producer/sources/jsonl-log.js";

const complete = { subject_id: "M1", species: "Mus musculus", sex: "F", age: "P90D" };

describe("DANDI metadata warnings", () => {
  it("name every missing or malformed field DANDI rejects, with a fix", () => {
    expect(dandiGaps({ session_description: "x" }).map((g) => g.field)).toEqual(["subject"]);
    expect(dandiGaps({ session_description: "x", subject: {} }).map((g) => g.field)).toEqual([
      "subject.subject_id",
      "subject.species",
      "subject.sex",
      "subject.age",
    ]);
    const bad = dandiGaps({ session_description: "x", subject: { subject_id: "M 1", species: "mouse", sex: "male", age: "90 days" } });
    expect(bad.map((g) => g.field)).toEqual(["subject.subject_id", "subject.species", "subject.sex", "subject.age"]);
    for (const g of bad) expect(g.fix.length).toBeGreaterThan(3);
  });

  it("accept complete metadata, date_of_birth instead of age, and NCBI taxonomy URLs", () => {
    expect(dandiGaps({ session_description: "x", subject: complete })).toEqual([]);
    const dob = parseMetadata(
      { subject: { subject_id: "M1", species: "http://purl.obolibrary.org/obo/NCBITaxon_10090", sex: "U", date_of_birth: "2026-08-30" } },
      "t",
    );
    expect(dob.subject!.date_of_birth).toEqual(new Date("2026-08-30"));
    expect(dandiGaps(dob)).toEqual([]);
    expect(dandiGaps({ session_description: "x", subject: { ...complete, age: "P1Y2M3DT4H" } })).toEqual([]);
  });

  it("the meta init template loads as --meta and leaves no gap", async () => {
    const meta = await parseYaml(META_TEMPLATE, "template");
    expect(dandiGaps(meta)).toEqual([]);
    expect(meta.experimenter).toEqual(["Doe, Jane"]);
    expect(META_TEMPLATE).toMatch(/\[DANDI\]/);
  });
});

describe("DANDI file names", () => {
  const meta = { session_description: "x", subject: complete };
  it("sub-<id>/sub-<id>_ses-<session>.nwb, session from session_id or the log's name", () => {
    expect(dandiNameFor("logs/run 1.jsonl", "/d", meta, 1)).toBe("/d/sub-M1/sub-M1_ses-run-1.nwb");
    expect(dandiNameFor("logs/a.jsonl", "/d", { ...meta, session_id: "S1" }, 1)).toBe("/d/sub-M1/sub-M1_ses-S1.nwb");
    expect(dandiNameFor("logs/a.jsonl", "/d", { ...meta, session_id: "S1" }, 2)).toBe("/d/sub-M1/sub-M1_ses-S1-a.nwb");
    expect(() => dandiNameFor("a.jsonl", "/d", { session_description: "x" }, 1)).toThrow(/subject_id/);
  });

  it("segments of a DANDI-named output keep DANDI's naming, and are found again", async () => {
    expect(segmentPath("/d/sub-M1/sub-M1_ses-S1.nwb", 2)).toBe("/d/sub-M1/sub-M1_ses-S1_desc-seg02.nwb");
    expect(segmentPath("/d/run.nwb", 2)).toBe("/d/run_02.nwb");
    const dir = mkdtempSync(join(tmpdir(), "dandi-names-"));
    // Segments are recognised by the first file's identifier, so these are real NWB files.
    const ours = { session_description: "x", identifier: "ours" };
    for (const n of ["sub-M1_ses-S1.nwb", "sub-M1_ses-S1_desc-seg01.nwb"]) (await NwbFile.create(join(dir, n), ours)).close();
    (await NwbFile.create(join(dir, "sub-M1_ses-S2.nwb"), { ...ours, identifier: "other" })).close();
    writeFileSync(join(dir, "sub-M1_ses-S1_desc-seg02.nwb"), "");
    expect(await existingOutputFiles(join(dir, "sub-M1_ses-S1.nwb"))).toEqual([join(dir, "sub-M1_ses-S1.nwb"), join(dir, "sub-M1_ses-S1_desc-seg01.nwb")]);
  });
});

describe("JSONL end record", () => {
  it("is read as the log's end, never as an event; a malformed one is a bad line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "end-record-"));
    const path = join(dir, "log.jsonl");
    const ev = '{"seq": 1, "timestamp": 1.5, "component_address": "A", "event_type": "UPDATED", "structured_value": {"x": 1}}';
    writeFileSync(path, `${ev}\n{"nwb_settings_end": {"timestamp": 9.5}}\n{"nwb_settings_end": {"timestamp": "late"}}\n`);
    const recs = [];
    for await (const r of readEventLog(path)) recs.push(r);
    expect(recs.map((r) => r.kind)).toEqual(["event", "end", "error"]);
    expect(recs[1]).toEqual({ kind: "end", line: 2, time: 9.5 });
    expect((recs[2] as { message: string }).message).toMatch(/log\.jsonl:3: end record needs/);
  });
});

describe("table chunk sizing", () => {
  const cols = (n: number): ColumnSpec[] => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, type: "float64", description: "" }));
  it("keeps one chunk of every column within the budget, at most 1,024 rows, no more than expected", () => {
    expect(tableChunkRows(cols(10))).toBe(1024);
    expect(tableChunkRows(cols(10_000))).toBe(2);
    expect(tableChunkRows(cols(100_000))).toBe(1);
    expect(tableChunkRows(cols(10), { expectedRows: 3 })).toBe(4);
    expect(tableChunkRows([{ name: "t", type: "text", description: "", cellShape: [0] }])).toBe(1024);
  });
});
