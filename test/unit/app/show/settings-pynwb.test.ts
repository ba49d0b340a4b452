/** `show` on a file pynwb wrote (our objects where a user's recording would hold them after attach). */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderPlot } from "../../../../src/app/show/plot.js";
import { readSettingsHistory } from "../../../../src/app/show/settings-history.js";
import { formatState } from "../../../../src/app/show/show-format.js";
import { parseTimeArg } from "../../../../src/app/show/wall-clock.js";

const PYTHON = resolve(process.env["NWB_SETTINGS_PYTHON"] ?? ".venv/bin/python");

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "show-pynwb-"));
  file = join(dir, "user.nwb");
  execFileSync(PYTHON, [resolve("test/unit/app/show/pynwb_settings.py"), file], { stdio: ["ignore", "pipe", "pipe"] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("show on a pynwb file with our objects", () => {
  it("reads the JSON rows in a processing module (not the user's other annotations) and answers --at in wall-clock time", async () => {
    const h = await readSettingsHistory([file]);
    expect(h.source).toBe("annotations");
    expect(h.objects[0]!.paths).toEqual(["processing/settings/pipeline_events"]);
    expect(h.referenceTime).toBe("2026-03-01T12:00:00.250000-07:00");
    const t = parseTimeArg("12:00:02.750000", h.referenceTime, h);
    expect(t).toBe(2.5);
    const at = (x: number) => Object.fromEntries([...h.stateAt(x).get("SYS/FILTER")!].map(([k, e]) => [k, e.value]));
    expect(at(t - 1e-6)).toEqual({ cutoff: 30, kind: "butter" });
    expect(at(t)).toEqual({ cutoff: 45.5, kind: "butter" });
    expect(at(4)).toEqual({ cutoff: 45.5, kind: "cheby" });
    expect(formatState(h, t, h.stateAt(t), {}, "text")).toContain("(12:00:02.750000)");
  });

  it("reads the typed table by its updated_component column and column descriptions", async () => {
    const h = await readSettingsHistory([file], { source: "table" });
    expect(h.changes.map((c) => [c.time, c.component, c.setting, c.value])).toEqual([
      [1, "SYS/FILTER", "cutoff", 30],
      [2.5, "SYS/FILTER", "cutoff", 45.5],
    ]);
  });

  it("plots the data series of /acquisition as the strip", async () => {
    const r = await renderPlot(await readSettingsHistory([file]));
    expect(r.strip).toBe("acquisition/signal");
    expect(r.t0).toBe(0);
    expect(r.t1).toBeCloseTo(4.999, 6);
    expect(r.lanes).toBe(2);
  });
});
