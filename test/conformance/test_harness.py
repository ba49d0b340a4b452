"""Self-tests of the harness (no CLI needed): the expectation model, the semantic JSON comparison,
the layout dump/compare, and the pynwb reference files (which must themselves pass every check)."""

from __future__ import annotations

import json
import math
import shutil

import h5py
import numpy as np
import pytest

import expected as exp
import nwbcheck
import reference_writer
from conftest import LOGS, META


def test_json_diff_is_strict_about_number_types():
    assert exp.json_diff({"a": 1}, {"a": 1}) == []
    assert exp.json_diff({"a": 1.0}, {"a": 1}) != []  # float vs int
    assert exp.json_diff({"a": True}, {"a": 1}) != []  # bool vs int
    assert exp.json_diff({"a": float("nan")}, {"a": float("nan")}) == []
    assert exp.json_diff({"a": -0.0}, {"a": 0.0}) != []
    assert exp.json_diff({"a": 2**63 - 1}, {"a": 2**63 - 2}) != []
    assert exp.json_diff({"b": 1, "a": 2}, {"a": 2, "b": 1}) == []  # key order ignored
    assert exp.json_diff([1, 2], [2, 1]) != []  # array order kept
    assert exp.json_diff({"a": 1}, {"a": 1, "b": None}) != []


def test_expected_rows_follow_the_rules_on_a_tiny_log(tmp_path):
    log = tmp_path / "t.jsonl"
    lines = [
        {"seq": 2, "timestamp": 10.0, "component_address": "b", "event_type": "INITIAL", "repr_value": "B()", "structured_value": None, "source_session_id": None},
        {"seq": 1, "timestamp": 10.0, "component_address": "a", "event_type": "INITIAL", "repr_value": {"r": 1}, "structured_value": {"s": 1}, "source_session_id": None},
        {"seq": 0, "timestamp": 9.0, "component_address": "c", "event_type": "INITIAL", "repr_value": {"r": 2}, "structured_value": None, "source_session_id": None},
        {"seq": 2, "timestamp": 10.0, "component_address": "__init_final__", "event_type": "INITIAL", "repr_value": "", "structured_value": None, "source_session_id": None},
        {"seq": 3, "timestamp": 9.5, "component_address": "a", "event_type": "UPDATED", "repr_value": "x", "structured_value": {"s": 2}, "source_session_id": None},
    ]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n\nnot json\n")
    parsed = exp.parse_log(log)
    assert parsed.bad_lines == [7]
    rows = exp.expected_series(parsed)["settings_annotations"]
    assert [r.payload["component"] for r in rows] == ["c", "a", "b", "a"]  # (time, seq) order, then arrival
    assert [r.time for r in rows] == [0.0, 1.0, 1.0, 1.0]
    assert rows[1].payload["settings"] == {"s": 1}  # structured_value wins
    assert rows[2].payload["settings"] == "B()"  # repr fallback
    assert rows[0].payload["settings"] == {"r": 2}
    assert rows[3].payload["timestamp"] == 0.5 and "timestamp" not in rows[2].payload
    raw = exp.expected_series(parsed, "raw")["settings_annotations"]
    assert [r.time for r in raw] == [9.0, 10.0, 10.0, 10.0]


@pytest.fixture(scope="module")
def two_references(tmp_path_factory):
    d = tmp_path_factory.mktemp("refs")
    a, b = d / "a.nwb", d / "b.nwb"
    reference_writer.write_annotations_reference(LOGS / "pipeline.jsonl", a, META)
    reference_writer.write_annotations_reference(LOGS / "pipeline.jsonl", b, META)
    return a, b


def test_reference_file_passes_every_check(two_references):
    a, _ = two_references
    assert nwbcheck.validate(a) == []
    assert nwbcheck.inspect(a).gate == []
    content = nwbcheck.read(a)
    rows = exp.expected_series(exp.parse_log(LOGS / "pipeline.jsonl"))["settings_annotations"]
    s = content.acquisition["settings_annotations"]
    assert [json.loads(t) for t in s.data] == [r.payload for r in rows]
    assert s.timestamps == [r.time for r in rows]


def test_two_pynwb_writes_differ_only_in_allowed_ways(two_references):
    a, b = two_references
    assert nwbcheck.compare_layout(a, b) == []
    everything = nwbcheck.layout_differences(nwbcheck.dump_layout(a), nwbcheck.dump_layout(b), allowed=())
    assert any(d.path.endswith("@object_id") for d in everything)  # the comparison does see values


def test_compare_layout_catches_type_shape_and_presence_changes(two_references, tmp_path):
    a, b = two_references
    bad = tmp_path / "bad.nwb"
    shutil.copy(a, bad)
    with h5py.File(bad, "r+") as f:
        ds = f["acquisition/settings_annotations/data"]
        del ds.attrs["unit"]
        ds.attrs.create("unit", np.array(b"n/a"), dtype=h5py.string_dtype("ascii", 3))  # fixed-length ASCII
        del f["session_description"]
        f.create_dataset("session_description", data=[b"x"], dtype=h5py.string_dtype("utf-8"))  # 1-element array
        del f["general/subject"]
        f["acquisition"].create_group("extra")
    diffs = "\n".join(nwbcheck.compare_layout(bad, b))
    assert "/acquisition/settings_annotations/data@unit: type: ours='str(fixed 3,ascii)' reference='str(vlen,utf-8)'" in diffs
    assert "/session_description: space: ours='array' reference='scalar'" in diffs
    assert "/general/subject: only in the pynwb reference" in diffs
    assert "/acquisition/extra: only in ours" in diffs
    # a missing group is reported once, not once per child
    assert "/general/subject/age" not in diffs


def test_time_intervals_reference_layout(tmp_path):
    """Documents (and pins) what pynwb 4.2 writes for typed TimeIntervals columns, which the typed
    sink must reproduce: see README 'TimeIntervals layout written by pynwb'."""
    out = tmp_path / "ti.nwb"
    reference_writer.write_time_intervals_reference(out)
    assert nwbcheck.validate(out) == []
    lay = nwbcheck.dump_layout(out)
    t = "/intervals/settings"
    want_types = {
        "start_time": "float64",
        "stop_time": "float64",
        "gain": "float64",
        "n_channels": "int64",
        "mode": "str(vlen,utf-8)",
        "enabled": "enum(int8:FALSE=0,TRUE=1)",
        "position": "float64",
        "id": "int64",
    }
    for col, typ in want_types.items():
        e = lay[f"{t}/{col}"]
        assert e.props["type"] == typ, (col, e.line())
        assert e.props["namespace"] == "hdmf-common", (col, e.line())
        assert e.props["neurodata_type"] == ("ElementIdentifiers" if col == "id" else "VectorData"), (col, e.line())
        assert (f"{t}/{col}@description" in lay) == (col != "id"), col
    assert lay[f"{t}/position"].props["shape"] == (3, 3)
    assert lay[f"{t}@colnames"].props == {
        "type": "str(vlen,utf-8)",
        "space": "array",
        "shape": (7,),
        "value": ["start_time", "stop_time", "gain", "n_channels", "mode", "enabled", "position"],
    }
    assert lay[t].props == {"neurodata_type": "TimeIntervals", "namespace": "core"}
    content = nwbcheck.read(out)
    cols = content.intervals["settings"].columns
    assert [bool(x) for x in cols["enabled"]] == [True, False, True]
    assert isinstance(cols["enabled"][0], (bool, np.bool_))
    assert [int(x) for x in cols["n_channels"]] == [2**53 + 1, -3, 2**63 - 1]
    assert math.isnan(cols["gain"][1]) and cols["mode"][1] == "ünïcödé ✓ 日本"


def test_row_check_catches_type_order_and_time_changes(two_references, tmp_path):
    """assert_rows (used on every CLI output) passes on the pynwb reference and fails on subtle edits."""
    from test_convert_annotations import assert_rows

    a, _ = two_references
    assert_rows(a, "pipeline.jsonl")

    def mutated(edit):
        p = tmp_path / f"m{len(list(tmp_path.iterdir()))}.nwb"
        shutil.copy(a, p)
        with h5py.File(p, "r+") as f:
            edit(f["acquisition/settings_annotations"])
        return p

    def set_row(i, fn):
        def edit(g):
            data = [x.decode() for x in g["data"][:]]
            data[i] = fn(data[i])
            del g["data"]
            g.create_dataset("data", data=data, dtype=h5py.string_dtype("utf-8"))
        return edit

    def swap_first_two(g):
        data = g["data"][:]
        data[0], data[1] = data[1], data[0]
        g["data"][:] = data

    def shift_time(g):
        ts = g["timestamps"][:]
        ts[-1] = np.nextafter(ts[-1], np.inf)
        g["timestamps"][:] = ts

    cases = {
        "float 30000.0 written as int": set_row(0, lambda s: s.replace("30000.0", "30000")),
        "rows swapped": swap_first_two,
        "timestamp off by one ulp": shift_time,
        "missing clamp key": set_row(5, lambda s: json.dumps({k: v for k, v in json.loads(s).items() if k != "timestamp"})),
    }
    for what, edit in cases.items():
        with pytest.raises(AssertionError):
            assert_rows(mutated(edit), "pipeline.jsonl")
            pytest.fail(f"not detected: {what}")
