"""`nwb-settings show` checked from outside: fixture logs are converted (both sinks, rotated
segments where the log rotates), pynwb reads the JSON settings rows of every segment, and a model
built here from those rows gives the timeline of changes and the state at chosen times, which the
built CLI (`show --format json`, `show --at T --format json`) must print exactly. (Every change
instant ±1 µs of generated logs is checked in-process by test/unit/app/show; here each CLI call
costs a Node start, so a few instants per log.) Also: a file pynwb wrote without settings exits 2
naming what was looked for; `--plot` writes an SVG and a PNG."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pynwb import NWBHDF5IO, NWBFile
from datetime import datetime, timezone

LOGS = ["pipeline.jsonl", "nested.jsonl", "table/rotation_dtype.jsonl", "table/same_instant.jsonl"]


def segments(out: Path) -> list[Path]:
    files = [out]
    i = 1
    while (out.parent / f"{out.stem}_{i:02d}.nwb").exists():
        files.append(out.parent / f"{out.stem}_{i:02d}.nwb")
        i += 1
    return files


def pynwb_rows(files: list[Path]) -> list[tuple[float, int, dict]]:
    """Every JSON settings row of every AnnotationSeries of the files, as pynwb reads them."""
    rows = []
    for f in files:
        with NWBHDF5IO(str(f), "r") as io:
            nwb = io.read()
            for name, obj in nwb.acquisition.items():
                if type(obj).__name__ != "AnnotationSeries":
                    continue
                for text, t in zip(obj.data[:], obj.timestamps[:]):
                    row = json.loads(text)
                    rows.append((float(row.get("timestamp", t)), len(rows), row))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def flatten(v, prefix=None):
    """Field paths as the sinks name them: nested keys joined by '.', '.' and '\\' in a key escaped."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            seg = k.replace("\\", "\\\\").replace(".", "\\.")
            out.update(flatten(x, seg if prefix is None else f"{prefix}.{seg}"))
        return out
    return {prefix if prefix is not None else "value": v}


def cell(v):
    """A value with its JSON type kept (1 and 1.0 differ; NaN equals NaN), as JSON text."""
    return json.dumps(v)


def model_state(rows, T: float) -> dict:
    state: dict = {}
    for t, _, row in rows:
        if t > T:
            break
        for k, v in flatten(row["settings"]).items():
            state[(row["component"], k)] = cell(v)
    return state


@pytest.mark.parametrize("log", LOGS)
def test_show_at_matches_a_model_of_the_rows_pynwb_reads(cli, convert, log):
    run, out = convert(log, "--sinks", "annotations,table", "--time-origin", "raw")
    assert run.returncode == 0, run.describe()
    files = segments(out)
    if log.startswith("table/rotation"):
        assert len(files) >= 2, "a rotating log makes segments"
    rows = pynwb_rows(files)
    # The timeline: every change of every setting, in time order.
    expected, current = [], {}
    for t, _, row in rows:
        for k, v in flatten(row["settings"]).items():
            key = (row["component"], k)
            if key in current and current[key] == cell(v):
                continue
            current[key] = cell(v)
            expected.append((t, row["component"], k, cell(v)))
    r = cli.run("show", out, "--format", "json", "--source", "annotations")
    assert r.returncode == 0, r.describe()
    got = [(c["time"], c["component"], c["setting"], cell(c["new"])) for c in json.loads(r.stdout)["changes"]]
    assert got == expected, r.describe()
    instants = sorted({t for t, _, _ in rows})
    mid = instants[len(instants) // 2]
    for T in [instants[0] - 1, mid - 1e-6, mid, instants[-1] + 1]:
        r = cli.run("show", out, "--at", repr(T), "--format", "json", "--source", "annotations")
        assert r.returncode == 0, r.describe()
        shown = json.loads(r.stdout)
        assert len(shown["files"]) == len(files)
        got = {(s["component"], s["setting"]): cell(s["value"]) for s in shown["settings"]}
        assert got == model_state(rows, T), f"state at {T}\n{r.describe()}"


def test_show_timeline_and_table_source_agree_after_startup(cli, convert):
    run, out = convert("table/rotation_dtype.jsonl", "--sinks", "annotations,table", "--time-origin", "raw")
    a = json.loads(cli.run("show", out, "--format", "json", "--source", "annotations").stdout)["changes"]
    t = json.loads(cli.run("show", out, "--format", "json", "--source", "table").stdout)["changes"]
    key = lambda c: (c["time"], c["component"], c["setting"], json.dumps(c["new"]))
    assert [key(c) for c in a] == [key(c) for c in t]
    assert [c["new"] for c in a if c["setting"] == "v"] == [1, 1.5, "auto", "manual"]


def test_show_exits_2_on_a_file_without_settings(cli, tmp_path):
    f = tmp_path / "plain.nwb"
    nwb = NWBFile(session_description="no settings", identifier="plain", session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    with NWBHDF5IO(str(f), "w") as io:
        io.write(nwb)
    r = cli.run("show", f)
    assert r.returncode == 2, r.describe()
    assert "no pipeline settings in" in r.stderr and "AnnotationSeries" in r.stderr and "updated_component" in r.stderr, r.describe()


def test_show_plot_writes_svg_and_png(cli, convert, tmp_path):
    run, out = convert("pipeline.jsonl", "--sinks", "annotations,table", "--time-origin", "raw")
    svg, png = tmp_path / "p.svg", tmp_path / "p.png"
    assert cli.run("show", out, "--plot", svg).returncode == 0
    text = svg.read_text()
    assert text.startswith("<svg") and "role-scope lane-0" in text
    r = cli.run("show", out, "--plot", png, "--at", "48215")
    assert r.returncode == 0, r.describe()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "settings in effect at 48215" in r.stdout
