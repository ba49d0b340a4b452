"""`nwb-settings convert --sinks annotations` checked with the real tools: pynwb reads the file,
pynwb's validator and nwbinspector accept it, every AnnotationSeries holds exactly the rows the
contract demands (computed here, independently, from the JSONL), --meta round-trips, and the HDF5
layout matches a file pynwb writes from the same input, except for documented harmless differences."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import h5py
import pytest
import yaml

import expected as exp
import nwbcheck
from conftest import LOGS, META

# Logs that produce rows. (empty / sentinel_only produce none; malformed produces rows from its good lines.)
ROW_LOGS = [
    "pipeline.jsonl",
    "unicode.jsonl",
    "numbers.jsonl",
    "nested.jsonl",
    "multi_table.jsonl",
    "no_sentinel.jsonl",
    "unix_time.jsonl",
    "malformed.jsonl",
]
META_ARGS = ("--meta", str(META))


def _ok(run, out: Path) -> None:
    assert out.exists(), f"no output file written\n{run.describe()}"


def assert_rows(out: Path, log: str, time_origin: str = "first-event") -> None:
    """Every AnnotationSeries equals the expected rows, row for row (text semantically, timestamps exactly)."""
    want = exp.expected_series(exp.parse_log(LOGS / log), time_origin)
    got = nwbcheck.read(out)
    assert sorted(got.acquisition) == sorted(want), f"series names: file has {sorted(got.acquisition)}, expected {sorted(want)}"
    problems: list[str] = []
    for name, rows in want.items():
        s = got.acquisition[name]
        assert isinstance(s, nwbcheck.Series) and s.neurodata_type == "AnnotationSeries", f"{name}: {s}"
        if len(s.data) != len(rows) or len(s.timestamps) != len(rows):
            problems.append(f"{name}: {len(s.data)} data / {len(s.timestamps)} timestamps, expected {len(rows)} rows")
            continue
        for i, (text, t, row) in enumerate(zip(s.data, s.timestamps, rows)):
            try:
                parsed = json.loads(text)
            except ValueError as e:
                problems.append(f"{name}[{i}]: row is not JSON ({e}): {text!r}")
                continue
            for d in exp.json_diff(parsed, row.payload):
                problems.append(f"{name}[{i}] text {d}\n    ours:     {text}\n    expected: {row.text()}")
            if not (t == row.time):
                problems.append(f"{name}[{i}] timestamp {t!r} != expected {row.time!r} (row {row.text()})")
    assert not problems, "rows differ from the contract:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------------
# per-log conformance
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("log", ROW_LOGS)
def test_pynwb_reads_and_rows_match(convert, log):
    run, out = convert(log)
    _ok(run, out)
    assert_rows(out, log)


@pytest.mark.parametrize("log", ROW_LOGS)
def test_rows_are_strict_utf8_without_nul(convert, log):
    """Raw HDF5 strings must be valid UTF-8 (no lone surrogates as CESU bytes) and have no NUL
    (a NUL would silently cut a C string short), and be stored as UTF-8 vlen strings."""
    run, out = convert(log)
    _ok(run, out)
    with h5py.File(out, "r") as f:
        for name in f["acquisition"]:
            ds = f[f"acquisition/{name}/data"]
            t = ds.id.get_type()
            assert t.is_variable_str() and t.get_cset() == h5py.h5t.CSET_UTF8, f"{name}/data: {nwbcheck.describe_type(t)}"
            for i, raw in enumerate(ds[:]):
                assert isinstance(raw, bytes)
                assert b"\x00" not in raw, f"{name}[{i}] contains NUL"
                raw.decode("utf-8", errors="strict")


@pytest.mark.parametrize("log", ROW_LOGS)
def test_validator_reports_no_errors(convert, log):
    run, out = convert(log, *META_ARGS)
    _ok(run, out)
    errors = nwbcheck.validate(out)
    assert errors == [], "pynwb validation errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("log", ROW_LOGS)
def test_inspector_gate_with_meta(convert, log):
    run, out = convert(log, *META_ARGS)
    _ok(run, out)
    res = nwbcheck.inspect(out)
    assert res.gate == [], "nwbinspector at BEST_PRACTICE_VIOLATION or above:\n" + "\n".join(res.gate)


@pytest.mark.parametrize("log", ["pipeline.jsonl", "unicode.jsonl"])
def test_inspector_gate_without_meta_only_lacks_subject(convert, log):
    """Without --meta the tool cannot know the subject, and nwbinspector 0.7 rates a missing Subject
    CRITICAL; that single message is the documented exception. Nothing else may reach the gate."""
    run, out = convert(log)
    _ok(run, out)
    res = nwbcheck.inspect(out)
    rest = [m for m in res.gate if "check_subject_exists" not in m]
    assert rest == [], "nwbinspector at BEST_PRACTICE_VIOLATION or above:\n" + "\n".join(rest)
    assert any("check_subject_exists" in m for m in res.gate), "expected the documented missing-Subject message"


@pytest.mark.parametrize("log", ROW_LOGS)
@pytest.mark.parametrize("with_meta", [False, True], ids=["no-meta", "meta"])
def test_layout_matches_pynwb_reference(convert, reference, log, with_meta):
    run, out = convert(log, *(META_ARGS if with_meta else ()))
    _ok(run, out)
    ref = reference(log, META if with_meta else None)
    diffs = nwbcheck.compare_layout(out, ref)
    assert diffs == [], (
        f"layout differs from the pynwb reference ({len(diffs)} difference(s) not in nwbcheck.ALLOWED):\n"
        + "\n".join(diffs)
        + f"\n(debug: .venv/bin/python test/conformance/nwbcheck.py compare {out} {ref})"
    )


# ---------------------------------------------------------------------------------------------------
# time origin
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("log", ["pipeline.jsonl", "unix_time.jsonl", "multi_table.jsonl"])
def test_time_origin_raw_rows(convert, log):
    run, out = convert(log, "--time-origin", "raw")
    _ok(run, out)
    assert_rows(out, log, "raw")


@pytest.mark.parametrize("origin", ["first-event", "raw"])
def test_unix_time_stamps_mean_wall_clock(convert, origin):
    """NWB semantics: stored timestamps are seconds since timestamps_reference_time. With Unix-time
    stamps in the log, reference time + stored time must give back each event's wall-clock time."""
    log = "unix_time.jsonl"
    run, out = convert(log, "--time-origin", origin)
    _ok(run, out)
    c = nwbcheck.read(out)
    ref = c.timestamps_reference_time
    assert ref.tzinfo is not None, f"timestamps_reference_time has no time zone: {ref!r}"
    rows = exp.expected_series(exp.parse_log(LOGS / log), "raw")["settings_annotations"]
    stored = c.acquisition["settings_annotations"].timestamps
    assert len(stored) == len(rows)
    for i, (t, row) in enumerate(zip(stored, rows)):
        wall = row.time  # raw expected rows carry Unix seconds (after the per-series max)
        # to the µs: a reference time cut to the ms (a JS Date) would be off by up to 1 ms here
        assert abs(ref.timestamp() + t - wall) < 2e-6, f"row {i}: {ref.isoformat()} + {t} s != {wall} (Unix)"
    t0 = exp.t0(exp.parse_log(LOGS / log))
    start = c.session_start_time
    assert abs(start.timestamp() - t0) < 1e-3, f"session_start_time {start.isoformat()} is not the first event ({t0})"


# ---------------------------------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------------------------------


def _check_meta(out: Path, meta: dict) -> None:
    c = nwbcheck.read(out)
    as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
    problems = []
    if c.session_description != meta["session_description"]:
        problems.append(f"session_description {c.session_description!r} != {meta['session_description']!r}")
    if "identifier" in meta and c.identifier != meta["identifier"]:
        problems.append(f"identifier {c.identifier!r} != {meta['identifier']!r}")
    for k in ("institution", "lab", "experiment_description", "session_id"):
        if k in meta and c.general.get(k) != meta[k]:
            problems.append(f"{k} {c.general.get(k)!r} != {meta[k]!r}")
    for k in ("experimenter", "keywords"):
        if k in meta and c.general.get(k) != as_list(meta[k]):
            problems.append(f"{k} {c.general.get(k)!r} != {as_list(meta[k])!r}")
    if "subject" in meta:
        if c.subject is None:
            problems.append("no Subject in the file")
        else:
            for k, v in meta["subject"].items():
                if c.subject.get(k) != v:
                    problems.append(f"subject.{k} {c.subject.get(k)!r} != {v!r}")
    assert not problems, "metadata did not round-trip:\n" + "\n".join(problems)


def test_meta_yaml_round_trips(convert):
    run, out = convert("pipeline.jsonl", *META_ARGS)
    _ok(run, out)
    _check_meta(out, yaml.safe_load(META.read_text(encoding="utf-8")))


def test_meta_json_with_scalar_experimenter(cli, tmp_path):
    meta = {
        "session_description": "JSON metadata, one experimenter as a string",
        "experimenter": "Solo, Han",
        "lab": "Lab ✓",
        "keywords": ["a", "b"],
        "subject": {"subject_id": "S1", "species": "Homo sapiens", "sex": "M", "age": "P30Y", "description": "volunteer"},
    }
    mp = tmp_path / "meta.json"
    mp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out.nwb"
    run = cli.run("convert", LOGS / "pipeline.jsonl", "--out", out, "--meta", mp)
    assert run.returncode == 0, run.describe()
    _check_meta(out, meta)
    errors = nwbcheck.validate(out)
    assert errors == [], "\n".join(errors)


# ---------------------------------------------------------------------------------------------------
# exit codes and messages
# ---------------------------------------------------------------------------------------------------


def _digest(p: Path) -> tuple[str, int]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns


def test_refuses_to_overwrite_and_leaves_file_untouched(cli, tmp_path):
    out = tmp_path / "out.nwb"
    first = cli.run("convert", LOGS / "pipeline.jsonl", "--out", out)
    assert first.returncode == 0 and out.exists(), first.describe()
    before = _digest(out)
    again = cli.run("convert", LOGS / "nested.jsonl", "--out", out)
    assert again.returncode != 0, "second convert onto an existing file must fail\n" + again.describe()
    assert str(out.name) in again.output and "--overwrite" in again.output, "message should name the file and --overwrite\n" + again.describe()
    assert _digest(out) == before, "the existing file was modified"
    forced = cli.run("convert", LOGS / "nested.jsonl", "--out", out, "--overwrite")
    assert forced.returncode == 0, forced.describe()
    assert_rows(out, "nested.jsonl")


@pytest.mark.parametrize("log", ["empty.jsonl", "sentinel_only.jsonl"])
def test_log_without_rows_writes_no_file_and_says_so(cli, tmp_path, log):
    out = tmp_path / "out.nwb"
    run = cli.run("convert", LOGS / log, "--out", out)
    assert not out.exists(), f"a file was written for a log without rows\n{run.describe()}"
    assert log in run.output and re.search(r"no .*rows|empty|nothing", run.output, re.I), "no message saying so\n" + run.describe()
    assert list(tmp_path.iterdir()) == [], f"leftovers: {list(tmp_path.iterdir())}"


def test_malformed_lines_reported_with_file_and_line(convert):
    log = "malformed.jsonl"
    run, out = convert(log)
    _ok(run, out)
    want = exp.parse_log(LOGS / log).bad_lines
    reported = sorted({int(n) for n in re.findall(re.escape(log) + r":(\d+):", run.output)})
    assert reported == want, f"bad lines reported {reported}, expected {want}\n{run.describe()}"
    # every good event is kept: see test_pynwb_reads_and_rows_match[malformed.jsonl]


def test_missing_input_fails(cli, tmp_path):
    missing = tmp_path / "nope.jsonl"
    run = cli.run("convert", missing, "--out", tmp_path / "x.nwb")
    assert run.returncode != 0, run.describe()
    assert "nope.jsonl" in run.output, run.describe()
    assert not (tmp_path / "x.nwb").exists()


BATCH = ["pipeline.jsonl", "unicode.jsonl", "numbers.jsonl", "nested.jsonl", "multi_table.jsonl"]


def test_jobs_out_dir_one_file_per_input_with_summary(cli, tmp_path):
    out_dir = tmp_path / "out"
    run = cli.run("convert", *[LOGS / n for n in BATCH], "--out-dir", out_dir, "--jobs", "2")
    assert run.returncode == 0, run.describe()
    produced = sorted(p.name for p in out_dir.iterdir())
    assert produced == sorted(Path(n).stem + ".nwb" for n in BATCH), f"{produced}\n{run.describe()}"
    for n in BATCH:
        assert n in run.output, f"summary does not mention {n}\n{run.describe()}"
        assert_rows(out_dir / (Path(n).stem + ".nwb"), n)


def test_batch_with_a_failing_input_exits_nonzero_but_converts_the_rest(cli, tmp_path):
    out_dir = tmp_path / "out"
    missing = tmp_path / "missing.jsonl"
    run = cli.run("convert", LOGS / "pipeline.jsonl", missing, LOGS / "nested.jsonl", "--out-dir", out_dir, "--jobs", "2")
    assert run.returncode != 0, run.describe()
    assert "missing.jsonl" in run.output, run.describe()
    assert_rows(out_dir / "pipeline.nwb", "pipeline.jsonl")
    assert_rows(out_dir / "nested.nwb", "nested.jsonl")


def test_edge_values_are_valid_input(convert):
    """Python's json.dumps output is valid input: a lone surrogate (written as the escape \\ud800)
    comes through, kept as an escape in the row JSON (plain ASCII, so the file stays valid UTF-8).
    seq is a counter below 2^53 by contract (docs/event-log.md): larger ones are reported as
    FILE:LINE and every other line is still written."""
    log = "edge_values.jsonl"
    run, out = convert(log)
    reported = dict(re.findall(re.escape(log) + r":(\d+): ([^\n]*)", run.output))
    assert sorted(reported) == ["4", "5"], "unexpected reports:\n" + "\n".join(f"{k}: {v}" for k, v in reported.items())
    for line in ("4", "5"):
        assert '"seq" must be a non-negative integer below 2^53' in reported[line], reported[line]
    assert run.returncode != 0, run.describe()
    assert out.exists(), run.describe()
    assert_rows(out, log)
    texts = [t for s in nwbcheck.read(out).acquisition.values() for t in s.data]
    assert any("\\ud800" in t for t in texts), "the lone surrogate should stay an escape in the row JSON"


@pytest.mark.parametrize("origin", ["first-event", "raw"])
def test_unix_time_stamps_stay_exact_to_the_microsecond(cli, tmp_path, origin):
    """Event times with microseconds: reference time + stored time gives each event back to the µs
    (a reference time taken from the first event must not be cut to the millisecond)."""
    stamps = [1767225600.123456, 1767225600.987654, 1767225601.000001]
    log = tmp_path / "micros.jsonl"
    lines = [
        {"seq": i + 1, "timestamp": t, "component_address": "U/a", "event_type": "INITIAL" if i == 0 else "UPDATED",
         "repr_value": {"a": i}, "structured_value": {"a": i}, "source_session_id": "s"}
        for i, t in enumerate(stamps)
    ]
    lines.insert(1, {"seq": 2, "timestamp": stamps[0], "component_address": "__init_final__", "event_type": "INITIAL",
                     "repr_value": {}, "structured_value": {}, "source_session_id": "s"})
    for i, line in enumerate(lines):
        line["seq"] = i + 1
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "micros.nwb"
    run = cli.run("convert", log, "--out", out, "--time-origin", origin, "--sinks", "annotations")
    assert run.returncode == 0, run.describe()
    c = nwbcheck.read(out)
    ref = c.timestamps_reference_time
    stored = list(c.acquisition["settings_annotations"].timestamps)
    assert len(stored) == len(stamps)
    for t, want in zip(stored, stamps):
        # datetime keeps µs; compare in integer µs to stay clear of float rounding at 1.7e9 s
        d = ref - datetime(1970, 1, 1, tzinfo=timezone.utc)
        got_us = (d.days * 86400 + d.seconds) * 10**6 + d.microseconds + round(t * 1e6)
        assert got_us == round(want * 1e6), f"{ref.isoformat()} + {t} s != {want}"


def test_long_log_gives_every_row_and_reports_bad_lines(convert, tmp_path):
    """A 9 MiB log: flushed as it goes, an earlier event after the look-ahead (a full scan and a
    second pass), 2.0 kept apart from 2. Every row, its text and its timestamp, must be what the
    contract says, with bad lines reported by their line numbers."""
    lines = []
    seq = 0
    base = [ln for name in ("pipeline.jsonl", "numbers.jsonl", "unicode.jsonl", "nested.jsonl", "malformed.jsonl")
            for ln in (LOGS / name).read_text(encoding="utf-8").splitlines()]
    padding = "x" * 600
    while sum(len(ln) + 1 for ln in lines) < 9 << 20:
        for ln in base:
            seq += 1
            try:
                obj = json.loads(ln)
            except ValueError:
                lines.append(ln)  # a malformed line stays as it is
                continue
            if not isinstance(obj, dict) or obj.get("component_address") == "__init_final__" or seq < len(base):
                lines.append(ln)
                continue
            # Later rounds: UPDATEDs later in time, with a long text field and the original values.
            obj.update(event_type="UPDATED", seq=seq, timestamp=float(obj.get("timestamp", 0) or 0) + seq * 0.001)
            if isinstance(obj.get("structured_value"), dict):
                obj["structured_value"] = {**obj["structured_value"], "note": padding, "f": 2.0, "i": 2}
            lines.append(json.dumps(obj, ensure_ascii=False))
    log = tmp_path / "long.jsonl"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert log.stat().st_size >= 8 << 20
    run, out = convert(str(log), "--sinks", "annotations")
    _ok(run, out)
    assert_rows(out, str(log))
    # The malformed lines are reported with this log's own line numbers.
    bad = [i + 1 for i, ln in enumerate(lines) if _not_an_event(ln)]
    for n in bad[:3] + bad[-3:]:
        assert f"{log}:{n}:" in run.stderr, f"line {n} not reported\n{run.describe()}"


def _not_an_event(line: str) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return bool(line.strip())
    return not isinstance(obj, dict) or "seq" not in obj
