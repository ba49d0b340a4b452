"""Conformance of the typed-column sink (`convert --sinks table`, issue #3), read with pynwb.

Each fixture log in test/fixtures/logs/table/ exercises one rule; the expected rows below are
written by hand from the rules (docs/table-sink.md), never taken from our output, and every fixture
is also compared row for row with the independent model in table_model.py. Every file must read
with pynwb, validate with `pynwb.validate` ([]), keep the interval rules (no row with
stop_time <= start_time, start times rising, an unknown end (NaN) only on the output's last row)
and give no nwbinspector message at BEST_PRACTICE_VIOLATION or above, with the default and the
DANDI configuration. Nothing is allowed.

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
import table_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "test" / "fixtures" / "logs" / "table"
META = LOGS / "meta.yaml"
CLI = ROOT / "bin" / "nwb-settings.js"
TABLE = "pipeline_settings"
S = "__init_final__"

NAN = math.nan
FIXTURES = sorted(p.stem for p in LOGS.glob("*.jsonl"))


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


def rows_equal(got: list[tuple], want: list[tuple]) -> bool:
    return len(got) == len(want) and all(same(list(a), list(b)) for a, b in zip(got, want))


def check_file(path: Path, last_segment: bool = True) -> None:
    assert nwbcheck.validate(path) == []
    assert nwbcheck.inspect(path).gate == []
    assert nwbcheck.inspect(path, config="dandi").gate == []
    df = dataframe(path)
    assert table_model.interval_problems(list(df["start_time"]), list(df["stop_time"]), last_segment) == []


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
    assert rows_equal(read_rows(out, cols), [
        (10.0, 12.0, S, *init),  # the startup state starts at the FIRST buffered INITIAL's time (not the earliest)
        (12.0, 14.5, "SYS/FILTER", 3, 30.5, 1, "lp", [1, 2, 3], "fast", 256, 0.5),
        (14.5, NAN, "SYS/WINDOW", 3, 30.5, 1, "lp", [1, 2, 3], "slow", 256, 0.5),  # no end record: end unknown
    ])
    dtypes = {c: str(t) for c, t in df.dtypes.items()}
    assert dtypes["SYS.FILTER.gain"] == "int64"
    assert dtypes["SYS.FILTER.cutoff"] == "float64"
    assert dtypes["SYS.FILTER.enabled"] in ("bool", "int8")  # int8 0/1 until the NWB layer writes HDF5 bool
    assert dtypes["SYS.FILTER.label"] in ("str", "object")
    assert dtypes["SYS.WINDOW.window.size"] == "int64"
    assert df["SYS.FILTER.taps"].iloc[0].dtype == np.int64
    assert list(df.index) == [0, 1, 2]
    check_file(out)


def test_sentinel_lost_updated_flushes_buffer_first(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("sentinel_lost", out).returncode == 0
    assert segments(out) == ["f.nwb"]
    assert rows_equal(read_rows(out, ["A.x", "B.y"]), [(1.0, 3.5, S, 1, 2.5), (3.5, NAN, "A", 4, 2.5)])
    check_file(out)


def test_first_event_without_buffer_anchors_its_component(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("first_updated", out).returncode == 0
    assert rows_equal(read_rows(out, ["A.x", "A.name"]), [(5.0, 6.5, "A", 1, "one"), (6.5, NAN, "A", 2, "one")])
    check_file(out)


def test_initial_after_table_exists_is_an_ordinary_update(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("late_initial", out).returncode == 0
    assert rows_equal(read_rows(out, ["A.x"]), [(1.0, 2.0, S, 1), (2.0, 3.5, "A", 2), (3.5, NAN, "A", 3)])
    check_file(out)


def test_close_flushes_buffered_initials_and_open_interval(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("close_buffered", out).returncode == 0
    # a startup snapshot only; its last event (0.5) is before the state's start (1.0): end unknown
    assert rows_equal(read_rows(out, ["A.x", "B.y"]), [(1.0, NAN, S, 1, "b")])
    check_file(out)


def test_one_state_then_one_update(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("constant_start", out).returncode == 0
    assert rows_equal(read_rows(out, ["A.x"]), [(1.0, 4.0, S, 1), (4.0, NAN, "A", 2)])
    check_file(out)


def test_new_column_rotates_with_merged_schema(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_new_column", out).returncode == 0
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    assert list(dataframe(out).columns) == ["start_time", "stop_time", "updated_component", "A.x"]
    assert rows_equal(read_rows(out, ["A.x"]), [(1.0, 2.0, S, 1), (2.0, 3.5, "A", 2)])
    seg1 = tmp_path / "f_01.nwb"
    assert list(dataframe(seg1).columns) == ["start_time", "stop_time", "updated_component", "A.x", "B.y"]
    assert rows_equal(read_rows(seg1, ["A.x", "B.y"]), [(3.5, 4.0, "B", 2, "new"), (4.0, NAN, "A", 5, "new")])
    check_file(out, last_segment=False)
    check_file(seg1)


def test_shape_changes_rotate(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_shape", out).returncode == 0
    # scalar -> (2,) -> (2,2) -> (2,3): three rotations; (2,3) -> (2,3) with new values does not rotate
    assert segments(out) == ["f.nwb", "f_01.nwb", "f_02.nwb", "f_03.nwb"]
    assert read_rows(out, ["A.v"]) == [(1.0, 2.0, "A", 1)]
    assert read_rows(tmp_path / "f_01.nwb", ["A.v"]) == [(2.0, 3.0, "A", [1, 2])]
    assert read_rows(tmp_path / "f_02.nwb", ["A.v"]) == [(3.0, 4.0, "A", [[1, 2], [3, 4]])]
    m1, m2 = [[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]
    assert rows_equal(read_rows(tmp_path / "f_03.nwb", ["A.v"]), [(4.0, 5.0, "A", m1), (5.0, NAN, "A", m2)])
    assert dataframe(tmp_path / "f_03.nwb")["A.v"].iloc[0].shape == (2, 3)
    for name in ["f.nwb", "f_01.nwb", "f_02.nwb", "f_03.nwb"]:
        check_file(tmp_path / name, last_segment=name == "f_03.nwb")


def test_dtype_changes_rotate_instead_of_converting(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_dtype", out).returncode == 0
    # int -> float, float -> str, bool -> int rotate; str -> str does not
    assert segments(out) == ["f.nwb", "f_01.nwb", "f_02.nwb", "f_03.nwb"]
    expect = {
        "f.nwb": ([(1.0, 2.0, "A", 1, 1)], "int64", ("bool", "int8")),
        "f_01.nwb": ([(2.0, 3.0, "A", 1.5, 1)], "float64", ("bool", "int8")),
        "f_02.nwb": ([(3.0, 4.0, "A", "auto", 1)], "str", ("bool", "int8")),
        "f_03.nwb": ([(4.0, 5.0, "A", "auto", 1), (5.0, NAN, "A", "manual", 1)], "str", ("int64",)),
    }
    for name, (rows, v_dtype, w_dtypes) in expect.items():
        assert rows_equal(read_rows(tmp_path / name, ["A.v", "A.w"]), rows), name
        df = dataframe(tmp_path / name)
        assert str(df["A.v"].dtype) in ((v_dtype, "object") if v_dtype == "str" else (v_dtype,)), name
        assert str(df["A.w"].dtype) in w_dtypes, name
        check_file(tmp_path / name, last_segment=name == "f_03.nwb")


def test_native_types_survive(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("types", out).returncode == 0
    df = dataframe(out)
    r = df.iloc[0]
    assert type(r["SYS.T.i"]) is np.int64 and int(r["SYS.T.i"]) == 9007199254740993  # exact past 2^53
    assert int(r["SYS.T.neg"]) == -9223372036854775808
    assert type(r["SYS.T.f"]) is np.float64 and r["SYS.T.f"] == 1.0
    assert math.isnan(r["SYS.T.nan"])
    assert int(r["SYS.T.b"]) == 0 and int(df.iloc[1]["SYS.T.b"]) == 1
    assert r["SYS.T.s"] == "héllo ✓ 𝄞"
    assert r["SYS.T.m"].dtype == np.float64 and r["SYS.T.m"].tolist() == [[1.5, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert r["SYS.T.ia"].dtype == np.int64 and r["SYS.T.ia"].tolist() == [1, 2]
    assert [int(x) for x in r["SYS.T.ba"]] == [1, 0]
    assert [str(x) for x in r["SYS.T.sa"]] == ["a", "β"]
    assert [str(x) for x in r["SYS.T.obj"]] == ['{"k": 1}']  # a mapping inside a list becomes JSON text
    assert r["SYS.T.none"] == "None"  # the reference's rule for None
    assert int(df.iloc[1]["SYS.T.i"]) == -1
    assert list(df["updated_component"]) == [S, "SYS/T"]
    check_file(out)


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
    assert rows_equal(read_rows(out, ["A.x", "A.s"]), [(1.0, 3.0, "A", 1, "ok"), (3.0, NAN, "A", 3, "ok")])
    check_file(out)


def test_annotations_and_table_in_one_file(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("sentinel_merge", out, sinks="annotations,table")
    assert r.returncode == 0, r.stdout + r.stderr
    assert segments(out) == ["f.nwb"]
    content = nwbcheck.read(out)
    assert list(content.acquisition) == ["settings_annotations"]
    assert len(content.acquisition["settings_annotations"].data) == 4  # 4 events, no sentinel row
    assert list(content.intervals) == [TABLE]
    assert content.intervals[TABLE].ids == [0, 1, 2]
    check_file(out)


def test_rotation_moves_both_sinks_to_the_next_segment(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("rotation_new_column", out, sinks="annotations,table").returncode == 0
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    seg0, seg1 = nwbcheck.read(out), nwbcheck.read(tmp_path / "f_01.nwb")
    # annotations first: the event that rotates is annotated in the old segment, then the table rotates
    assert len(seg0.acquisition["settings_annotations"].data) == 3
    assert len(seg1.acquisition["settings_annotations"].data) == 1
    assert len(seg0.intervals[TABLE].ids) == 2 and len(seg1.intervals[TABLE].ids) == 2
    check_file(out, last_segment=False)
    check_file(tmp_path / "f_01.nwb")


def test_every_flush_leaves_a_valid_file(tmp_path: Path) -> None:
    """Flush after each event (at the event's time + 0.25 s) and copy the open segment: each copy
    reads, validates, passes the inspector, holds the segment's final rows so far, and its last row
    is the open interval, ending at the flush time (rewritten in place at the next flush)."""
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
        assert len(rows) >= 1
        done = final[snap["segment"]][: len(rows)]
        assert rows[:-1] == done[:-1], snap  # closed rows are final
        start, stop, *cells = rows[-1]
        assert (start, *cells) == (done[-1][0], *done[-1][2:]), snap  # the open row: its state
        assert stop == snap["flush_time"], snap  # … and how long it has lasted so far
        check_file(Path(snap["path"]))


# --------------------------------------------------------------------------------------------------
# every fixture against the independent model; the rules the issue pins
# --------------------------------------------------------------------------------------------------


def model_of(log: str) -> list[table_model.Segment]:
    """The model's segments for a fixture converted with --time-origin raw: events parsed by Python's
    json (expected.py's event rules), the end record's time or else the latest event time as close."""
    import expected

    parsed = expected.parse_log(LOGS / f"{log}.jsonl")
    end = None
    for raw in (LOGS / f"{log}.jsonl").read_text(encoding="utf-8").split("\n"):
        if raw.strip().startswith('{"nwb_settings_end"'):
            end = json.loads(raw)["nwb_settings_end"]["timestamp"]
    events = []
    for e in parsed.events:
        value = e.structured_value if e.structured_value is not None else e.repr_value
        if "\\u0000" in json.dumps(value) or "\x00" in e.component_address:
            continue  # rejected by the sink (HDF5 text cannot hold NUL), reported as a bad line
        events.append((e.event_type, e.component_address, e.timestamp, value))
    close = end if end is not None else max((e.timestamp for e in parsed.events), default=None)
    return table_model.model_table(events, close)


@pytest.mark.parametrize("log", FIXTURES)
def test_fixture_equals_the_model(log: str, tmp_path: Path) -> None:
    from expected import json_diff

    out = tmp_path / "f.nwb"
    r = convert(log, out)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    want = model_of(log)
    names = segments(out)
    assert names == ([] if not want else ["f.nwb"] + [f"f_{i:02d}.nwb" for i in range(1, len(want))])
    for i, (name, seg) in enumerate(zip(names, want)):
        df = dataframe(tmp_path / name)
        assert list(df.columns) == ["start_time", "stop_time", "updated_component", *seg.columns], name
        assert len(df) == len(seg.rows), f"{name}: {len(df)} rows, model {len(seg.rows)}\n{df}"
        for k, (row, (_, got)) in enumerate(zip(seg.rows, df.iterrows())):
            where = f"{name} row {k}"
            assert json_diff(float(got["start_time"]), float(row.start)) == [], where
            assert json_diff(float(got["stop_time"]), float(row.stop)) == [], f"{where}: stop {got['stop_time']} vs model {row.stop}"
            assert got["updated_component"] == row.component, where
            for c, v in row.state.items():
                v = table_model.stored(v)
                if v is table_model.UNKNOWN:
                    continue
                assert json_diff(plain(got[c]), v) == [], f"{where} {c}: {json_diff(plain(got[c]), v)}"
        check_file(tmp_path / name, last_segment=i == len(want) - 1)


def test_changes_at_one_instant_make_no_zero_length_row(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("same_instant", out, sinks="annotations,table")
    assert r.returncode == 0, r.stdout + r.stderr
    # t=1: startup + A.x=2 merge into the first row; t=2: three changes, one row; t=3: B.m "c" then 7
    # (str -> int) at one instant: the "c" row is dropped, the new segment opens with m=7 at 3.0;
    # t=2.5 (out of time order) merges into the open row at 3.0
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    assert rows_equal(read_rows(out, ["A.x", "A.y", "B.m"]), [(1.0, 2.0, S, 2, 0.5, "a"), (2.0, 3.0, "A", 3, 1.5, "b")])
    assert rows_equal(read_rows(tmp_path / "f_01.nwb", ["A.x", "A.y", "B.m"]), [(3.0, 4.0, "B", 4, 1.5, 7), (4.0, NAN, "A", 5, 1.5, 7)])
    # the JSON rows keep every event (11 lines, the sentinel excluded)
    ann = sum(len(nwbcheck.read(tmp_path / n).acquisition["settings_annotations"].data) for n in segments(out))
    assert ann == 10
    check_file(out, last_segment=False)
    check_file(tmp_path / "f_01.nwb")


def test_end_record_ends_the_last_interval(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    r = convert("end_record", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert read_rows(out, ["A.x"]) == [(1.0, 2.0, S, 1), (2.0, 5.0, "A", 2)]
    check_file(out)
    out2 = tmp_path / "g.nwb"
    assert convert("single_state", out2).returncode == 0
    assert read_rows(out2, ["A.x", "B.y"]) == [(1.0, 9.0, S, 1, "b")]
    check_file(out2)


def test_a_json_publishers_integral_floats_stay_in_one_float_column(tmp_path: Path) -> None:
    out = tmp_path / "f.nwb"
    assert convert("json_numbers", out).returncode == 0
    # gain 1.5, 2, 2.5, … and taps [2, 3] stay float64 in one segment; n (int) rotates once on 1.5
    assert segments(out) == ["f.nwb", "f_01.nwb"]
    df = dataframe(out)
    assert str(df["A.gain"].dtype) == "float64"
    assert [type(plain(x)) for x in df["A.gain"]] == [float] * 6
    assert [plain(x) for x in df["A.gain"]] == [1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert all(x.dtype == np.float64 for x in df["A.taps"])
    assert str(df["A.n"].dtype) == "int64"
    df1 = dataframe(tmp_path / "f_01.nwb")
    assert str(df1["A.n"].dtype) == "float64" and [plain(x) for x in df1["A.n"]] == [1.5, 2.0]
