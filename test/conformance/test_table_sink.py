"""Conformance of the typed-column sink (`convert --sinks table`, issue #3), read with pynwb.

Each fixture log in test/fixtures/logs/table/ exercises one rule; the expected rows below are
written by hand from the rules (docs/table-sink.md), never taken from our output. Every file must
read with pynwb, validate with `pynwb.validate` ([]) and give no nwbinspector message at
BEST_PRACTICE_VIOLATION or above other than the two known, documented interval-shape conflicts
(KNOWN_CONFLICTS), which are asserted exactly per file so any change is visible.

Needs `npm run build` (bin/nwb-settings.js runs dist/).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nwbcheck  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "test" / "fixtures" / "logs" / "table"
META = LOGS / "meta.yaml"
CLI = ROOT / "bin" / "nwb-settings.js"
TABLE = "pipeline_settings"
S = "__init_final__"

# nwbinspector 0.7.2 checks that conflict with the reference's interval shape (docs/table-sink.md):
# zero-length anchor rows [t, t] (and convert's final [t_last, t_last]) -> stop_after_start;
# a table whose rows all start at one time (anchor + its closing row) -> start_time_not_constant.
STOP_AFTER_START = "check_time_intervals_stop_after_start"
START_NOT_CONSTANT = "check_time_intervals_start_time_not_constant"
KNOWN_CONFLICTS = {STOP_AFTER_START, START_NOT_CONSTANT}


@pytest.fixture(scope="session", autouse=True)
def built() -> None:
    if not (ROOT / "dist" / "sinks" / "table-sink.js").exists():
        pytest.fail("dist/ is missing: run `npm run build` first")


def convert(log: str, out: Path, sinks: str = "table", extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = ["node", str(CLI), "convert", str(LOGS / f"{log}.jsonl"), "--out", str(out), "--sinks", sinks,
           "--time-origin", "raw", "--meta", str(META), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def segments(out: Path) -> list[str]:
    """Names of the files the output wrote: <stem>.nwb, <stem>_01.nwb, … that exist."""
    return sorted(p.name for p in out.parent.glob(f"{out.stem}*.nwb"))


def plain(v: Any) -> Any:
    """A cell as plain Python: numpy scalars to int/float/str/bool, arrays to nested lists."""
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_rows(path: Path, cols: list[str]) -> list[tuple]:
    df = dataframe(path)
    return [tuple(plain(r[c]) for c in ["start_time", "stop_time", "updated_component", *cols]) for _, r in df.iterrows()]


def dataframe(path: Path):
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r") as io:
            return io.read().intervals[TABLE].to_dataframe()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def check_file(path: Path, expected_conflicts: set[str]) -> None:
    assert nwbcheck.validate(path) == []
    gate = nwbcheck.inspect(path).gate
    found = {m.split()[1] for m in gate}
    assert found <= KNOWN_CONFLICTS, gate
    assert found == expected_conflicts, gate


# --------------------------------------------------------------------------------------------------
# one test per rule: exact rows, dtypes, segment files, validation, inspector
# --------------------------------------------------------------------------------------------------


def test_sentinel_merges_initials_into_one_anchor_row(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("sentinel_merge", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert segments(out) == ["f.nwb"]
    df = dataframe(out)
    cols = ["SYS.FILTER.gain", "SYS.FILTER.cutoff", "SYS.FILTER.enabled", "SYS.FILTER.label", "SYS.FILTER.taps",
            "SYS.WINDOW.mode", "SYS.WINDOW.window.size", "SYS.WINDOW.window.overlap"]
    assert list(df.columns) == ["start_time", "stop_time", "updated_component", *cols]
    init = (2, 30.5, 1, "lp", [1, 2, 3], "fast", 256, 0.5)
    assert read_rows(out, cols) == [
        (10.0, 10.0, S, *init),  # anchor at the FIRST buffered INITIAL's time (not the earliest)
        (10.0, 12.0, S, *init),
        (12.0, 14.5, "SYS/FILTER", 3, 30.5, 1, "lp", [1, 2, 3], "fast", 256, 0.5),
        (14.5, 14.5, "SYS/WINDOW", 3, 30.5, 1, "lp", [1, 2, 3], "slow", 256, 0.5),  # close at the last event
    ]
    dtypes = {c: str(t) for c, t in df.dtypes.items()}
    assert dtypes["SYS.FILTER.gain"] == "int64"
    assert dtypes["SYS.FILTER.cutoff"] == "float64"
    assert dtypes["SYS.FILTER.enabled"] in ("bool", "int8")  # int8 0/1 until the NWB layer writes HDF5 bool
    assert dtypes["SYS.FILTER.label"] in ("str", "object")
    assert dtypes["SYS.WINDOW.window.size"] == "int64"
    assert df["SYS.FILTER.taps"].iloc[0].dtype == np.int64
    assert list(df.index) == [0, 1, 2, 3]
    check_file(out, {STOP_AFTER_START})


def test_sentinel_lost_updated_flushes_buffer_first(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("sentinel_lost", out).returncode == 0
    assert segments(out) == ["f.nwb"]
    assert read_rows(out, ["A.x", "B.y"]) == [(1.0, 1.0, S, 1, 2.5), (1.0, 3.0, S, 1, 2.5), (3.0, 3.0, "A", 4, 2.5)]
    check_file(out, {STOP_AFTER_START})


def test_first_event_without_buffer_anchors_its_component(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("first_updated", out).returncode == 0
    assert read_rows(out, ["A.x", "A.name"]) == [(5.0, 5.0, "A", 1, "one"), (5.0, 6.5, "A", 1, "one"), (6.5, 6.5, "A", 2, "one")]
    check_file(out, {STOP_AFTER_START})


def test_initial_after_table_exists_is_an_ordinary_update(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("late_initial", out).returncode == 0
    assert read_rows(out, ["A.x"]) == [(1.0, 1.0, S, 1), (1.0, 2.0, S, 1), (2.0, 3.0, "A", 2), (3.0, 3.0, "A", 3)]
    check_file(out, {STOP_AFTER_START})


def test_close_flushes_buffered_initials_and_open_interval(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("close_buffered", out).returncode == 0
    # close time = last event's time (0.5) < anchor (1.0): stop is clamped to start, as the reference does
    assert read_rows(out, ["A.x", "B.y"]) == [(1.0, 1.0, S, 1, "b"), (1.0, 1.0, S, 1, "b")]
    check_file(out, {STOP_AFTER_START, START_NOT_CONSTANT})


def test_anchor_and_one_closing_row_only(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("constant_start", out).returncode == 0
    assert read_rows(out, ["A.x"]) == [(1.0, 1.0, S, 1), (1.0, 4.0, S, 1), (4.0, 4.0, "A", 2)]
    check_file(out, {STOP_AFTER_START})


def test_new_column_rotates_with_merged_schema(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_new_column", out).returncode == 0
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    assert list(dataframe(out).columns) == ["start_time", "stop_time", "updated_component", "A.x"]
    assert read_rows(out, ["A.x"]) == [(1.0, 1.0, S, 1), (1.0, 2.0, S, 1), (2.0, 3.0, "A", 2)]
    seg1 = tmp_path / "f_01.nwb"
    assert list(dataframe(seg1).columns) == ["start_time", "stop_time", "updated_component", "A.x", "B.y"]
    assert read_rows(seg1, ["A.x", "B.y"]) == [(3.0, 3.0, "B", 2, "new"), (3.0, 4.0, "B", 2, "new"), (4.0, 4.0, "A", 5, "new")]
    check_file(out, {STOP_AFTER_START})
    check_file(seg1, {STOP_AFTER_START})


def test_shape_changes_rotate(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_shape", out).returncode == 0
    # scalar -> (2,) -> (2,2) -> (2,3): three rotations; (2,3) -> (2,3) with new values does not rotate
    assert segments(out) == ["f.nwb", "f_01.nwb", "f_02.nwb", "f_03.nwb"]
    assert read_rows(out, ["A.v"]) == [(1.0, 1.0, "A", 1), (1.0, 2.0, "A", 1)]
    assert read_rows(tmp_path / "f_01.nwb", ["A.v"]) == [(2.0, 2.0, "A", [1, 2]), (2.0, 3.0, "A", [1, 2])]
    assert read_rows(tmp_path / "f_02.nwb", ["A.v"]) == [(3.0, 3.0, "A", [[1, 2], [3, 4]]), (3.0, 4.0, "A", [[1, 2], [3, 4]])]
    m1, m2 = [[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]
    assert read_rows(tmp_path / "f_03.nwb", ["A.v"]) == [(4.0, 4.0, "A", m1), (4.0, 5.0, "A", m1), (5.0, 5.0, "A", m2)]
    assert dataframe(tmp_path / "f_03.nwb")["A.v"].iloc[0].shape == (2, 3)
    for name, conflicts in [("f.nwb", 2), ("f_01.nwb", 2), ("f_02.nwb", 2), ("f_03.nwb", 1)]:
        check_file(tmp_path / name, {STOP_AFTER_START, START_NOT_CONSTANT} if conflicts == 2 else {STOP_AFTER_START})


def test_dtype_changes_rotate_instead_of_converting(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_dtype", out).returncode == 0
    # int -> float, float -> str, bool -> int rotate; str -> str does not
    assert segments(out) == ["f.nwb", "f_01.nwb", "f_02.nwb", "f_03.nwb"]
    expect = {
        "f.nwb": ([(1.0, 1.0, "A", 1, 1), (1.0, 2.0, "A", 1, 1)], "int64", ("bool", "int8")),
        "f_01.nwb": ([(2.0, 2.0, "A", 1.5, 1), (2.0, 3.0, "A", 1.5, 1)], "float64", ("bool", "int8")),
        "f_02.nwb": ([(3.0, 3.0, "A", "auto", 1), (3.0, 4.0, "A", "auto", 1)], "str", ("bool", "int8")),
        "f_03.nwb": ([(4.0, 4.0, "A", "auto", 1), (4.0, 5.0, "A", "auto", 1), (5.0, 5.0, "A", "manual", 1)], "str", ("int64",)),
    }
    for name, (rows, v_dtype, w_dtypes) in expect.items():
        assert read_rows(tmp_path / name, ["A.v", "A.w"]) == rows, name
        df = dataframe(tmp_path / name)
        assert str(df["A.v"].dtype) in ((v_dtype, "object") if v_dtype == "str" else (v_dtype,)), name
        assert str(df["A.w"].dtype) in w_dtypes, name
        check_file(tmp_path / name, {STOP_AFTER_START} if name == "f_03.nwb" else {STOP_AFTER_START, START_NOT_CONSTANT})


def test_native_types_survive(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("types", out).returncode == 0
    df = dataframe(out)
    r = df.iloc[1]
    assert type(r["SYS.T.i"]) is np.int64 and int(r["SYS.T.i"]) == 9007199254740993  # exact past 2^53
    assert int(r["SYS.T.neg"]) == -9223372036854775808
    assert type(r["SYS.T.f"]) is np.float64 and r["SYS.T.f"] == 1.0
    assert math.isnan(r["SYS.T.nan"])
    assert int(r["SYS.T.b"]) == 0 and int(df.iloc[2]["SYS.T.b"]) == 1
    assert r["SYS.T.s"] == "héllo ✓ 𝄞"
    assert r["SYS.T.m"].dtype == np.float64 and r["SYS.T.m"].tolist() == [[1.5, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert r["SYS.T.ia"].dtype == np.int64 and r["SYS.T.ia"].tolist() == [1, 2]
    assert [int(x) for x in r["SYS.T.ba"]] == [1, 0]
    assert [str(x) for x in r["SYS.T.sa"]] == ["a", "β"]
    assert [str(x) for x in r["SYS.T.obj"]] == ['{"k": 1}']  # a mapping inside a list becomes JSON text
    assert r["SYS.T.none"] == "None"  # the reference's rule for None
    assert int(df.iloc[2]["SYS.T.i"]) == -1
    assert list(df["updated_component"]) == [S, S, "SYS/T"]
    check_file(out, {STOP_AFTER_START})


def test_no_rows_no_file(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("empty", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert segments(out) == []


def test_nul_text_rejects_the_event_only(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("nul", out)
    assert r.returncode == 1  # reported as a bad line
    assert 'setting "s" of component "A" contains a NUL character' in r.stderr + r.stdout
    assert read_rows(out, ["A.x", "A.s"]) == [(1.0, 1.0, "A", 1, "ok"), (1.0, 3.0, "A", 1, "ok"), (3.0, 3.0, "A", 3, "ok")]
    check_file(out, {STOP_AFTER_START})


def test_annotations_and_table_in_one_file(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("sentinel_merge", out, sinks="annotations,table")
    assert r.returncode == 0, r.stdout + r.stderr
    assert segments(out) == ["f.nwb"]
    content = nwbcheck.read(out)
    assert list(content.acquisition) == ["settings_annotations"]
    assert len(content.acquisition["settings_annotations"].data) == 4  # 4 events, no sentinel row
    assert list(content.intervals) == [TABLE]
    assert content.intervals[TABLE].ids == [0, 1, 2, 3]
    check_file(out, {STOP_AFTER_START})


def test_rotation_moves_both_sinks_to_the_next_segment(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_new_column", out, sinks="annotations,table").returncode == 0
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    seg0, seg1 = nwbcheck.read(out), nwbcheck.read(tmp_path / "f_01.nwb")
    # annotations first: the event that rotates is annotated in the old segment, then the table rotates
    assert len(seg0.acquisition["settings_annotations"].data) == 3
    assert len(seg1.acquisition["settings_annotations"].data) == 1
    assert len(seg0.intervals[TABLE].ids) == 3 and len(seg1.intervals[TABLE].ids) == 3


def test_every_flush_leaves_a_valid_file(tmp_path: Path) -> None:
    """Flush after each event and copy the open segment: each copy reads, validates, and holds a
    prefix of that segment's final rows (rows are appended in place, never rewritten)."""
    r = subprocess.run(
        ["node", str(ROOT / "test" / "conformance" / "table_sink_snapshots.mjs"), str(LOGS / "rotation_new_column.jsonl"), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [Path(p).name for p in summary["segments"]] == ["out.nwb", "out_01.nwb"]
    assert len(summary["snapshots"]) >= 4
    final = {Path(p).name: read_rows(Path(p), ["A.x"]) for p in summary["segments"]}
    for snap in summary["snapshots"]:
        rows = read_rows(Path(snap["path"]), ["A.x"])
        assert rows == final[snap["segment"]][: len(rows)], snap
        assert len(rows) >= 1
        assert nwbcheck.validate(snap["path"]) == []
