"""`nwb-settings attach` (#11): settings added to recordings pynwb wrote, read back by pynwb,
validate and nwbinspector; every pre-existing object unchanged; rows at the right recording times;
refusals, locks, shards. The crash test is test_attach_crash.py."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import nwbcheck
from attach_recordings import SESSION_START, VARIANTS, make_recording, session_unix_micros, snapshot, write_settings_log
from conftest import BIN, NODE

OURS = ("/acquisition/settings_annotations", "/intervals/pipeline_settings")
# The rows the default log gives, on the recording's clock (see write_settings_log).
RELS = [-2.5, -1.0, 0.25, 1.000001, 1.5, 2.000002, 2.5, 3.25]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recordings")
    return {v: make_recording(root / f"{v}.nwb", v) for v in VARIANTS}


@pytest.fixture(scope="module")
def baseline_gate(originals) -> dict[str, set[str]]:
    return {(v, config): set(nwbcheck.inspect(p, config).gate) for v, p in originals.items() for config in (None, "dandi")}


@pytest.fixture(scope="module")
def settings_log(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("settings") / "session.jsonl"
    write_settings_log(p)
    return p


def fresh(originals: dict[str, Path], tmp_path: Path, variant: str, name: str = "rec.nwb") -> Path:
    p = tmp_path / name
    shutil.copyfile(originals[variant], p)
    return p


def hidden(folder: Path) -> list[str]:
    return sorted(n.name for n in folder.iterdir() if n.name.startswith("."))


def annotation_rows(path: Path, name: str = "settings_annotations") -> tuple[list[float], list[dict]]:
    c = nwbcheck.read(path)
    s = c.acquisition[name]
    return list(s.timestamps), [json.loads(d) for d in s.data]


@pytest.mark.parametrize("variant", VARIANTS)
def test_attach_keeps_the_recording_and_puts_rows_on_its_clock(cli, originals, baseline_gate, settings_log, tmp_path, variant):
    rec = fresh(originals, tmp_path, variant)
    run = cli.run("attach", rec, settings_log, "--sinks", "annotations,table")
    assert run.returncode == 0, run.describe()
    assert "OK " in run.stdout and "8 events" in run.stdout, run.describe()
    assert hidden(tmp_path) == [], "no staged copy is left behind"

    # pynwb reads everything; validate is clean; nwbinspector reports nothing new
    content = nwbcheck.read(rec)
    assert "ElectricalSeries" in content.acquisition and content.subject["subject_id"] == "m1"
    assert nwbcheck.validate(rec) == []
    for config in (None, "dandi"):
        assert set(nwbcheck.inspect(rec, config).gate) - baseline_gate[(variant, config)] == set(), config

    # every pre-existing object's data and attributes are identical
    before = snapshot(originals[variant])
    after = snapshot(rec, exclude=OURS)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    # /intervals is created when the recording had none: a bare group, no data
    assert [k for k in changed if not k.startswith("/intervals@")] == [], changed

    # JSON rows: the two events before time 0 at 0.0 with their own (negative) time kept
    ts, rows = annotation_rows(rec)
    assert ts == [max(r, 0.0) for r in RELS]
    assert [r.get("timestamp") for r in rows] == [-2.5, -1.0] + [None] * 6
    assert [r["seq"] for r in rows] == list(range(1, 9))

    # typed table: the state in effect at time 0 is the first row, starting at 0.0
    t = nwbcheck.read(rec).intervals["pipeline_settings"]
    starts = [float(x) for x in t.columns["start_time"]]
    stops = [float(x) for x in t.columns["stop_time"]]
    assert starts == [0.0, 0.25, 1.000001, 1.5, 2.000002, 2.5, 3.25]
    assert stops[:-1] == starts[1:] and math.isnan(stops[-1])
    first = {k: t.columns[k][0] for k in t.colnames if k not in ("start_time", "stop_time")}
    assert first["updated_component"] == "__init_final__"
    assert first["pipeline.filter.cutoff_hz"] == 100.0 and bool(first["pipeline.filter.enabled"]) is False
    assert first["pipeline.amp.gain"] == 2.0 and first["pipeline.amp.mode"] == "m1"
    assert str(t.columns["pipeline.filter.enabled"][0].dtype) == "bool"


def test_journal_and_nwb_inputs_give_the_same_rows(cli, originals, settings_log, tmp_path):
    events = [json.loads(l) for l in settings_log.read_text().splitlines()]
    # A journal whose reference time is 1.5 s before the session: its file times are relative to that.
    ref_us = session_unix_micros() - 1_500_000
    journal = tmp_path / "other.nwb.journal.jsonl"
    header = {
        "nwb_settings_journal": 1,
        "nwb_file": "other.nwb",
        "sinks": ["annotations"],
        "session_start_time": "2026-01-02T03:04:03.623Z",
        "timestamps_reference_time": "2026-01-02T03:04:03.623Z",
        "created": "2026-01-02T03:04:03.623Z",
        "meta": {"session_description": "journal"},
    }
    assert ref_us % 1000 == 456  # the journal's ms reference is 0.456 ms earlier than ref_us
    ref_ms_us = ref_us - 456
    with open(journal, "w") as f:
        f.write(json.dumps(header) + "\n")
        for e in events:
            e = dict(e)
            e["timestamp"] = (round(e["timestamp"] * 1e6) - ref_ms_us) / 1e6
            f.write(json.dumps(e) + "\n")
        f.write(json.dumps({"nwb_settings_journal_end": {"close_time": 10.0}}) + "\n")

    from_log = fresh(originals, tmp_path, "default", "a.nwb")
    from_journal = fresh(originals, tmp_path, "default", "b.nwb")
    from_nwb = fresh(originals, tmp_path, "default", "c.nwb")
    assert cli.run("attach", from_log, settings_log, "--sinks", "annotations,table").returncode == 0
    run = cli.run("attach", from_journal, journal, "--sinks", "annotations,table")
    assert run.returncode == 0, run.describe()
    # An NWB file written by convert (raw Unix times on the epoch reference): its JSON rows are copied.
    settings_nwb = tmp_path / "settings.nwb"
    conv = cli.run("convert", settings_log, "--out", settings_nwb, "--time-origin", "raw")
    assert conv.returncode == 0, conv.describe()
    run = cli.run("attach", from_nwb, settings_nwb, "--sinks", "annotations,table")
    assert run.returncode == 0, run.describe()

    expected = annotation_rows(from_log)
    assert annotation_rows(from_journal) == expected
    assert annotation_rows(from_nwb) == expected
    tables = [nwbcheck.read(p).intervals["pipeline_settings"] for p in (from_log, from_journal, from_nwb)]
    for t in tables[1:]:
        assert t.colnames == tables[0].colnames
        for c in t.colnames:
            a, b = [list(map(str, x.columns[c])) for x in (tables[0], t)]
            if c == "stop_time":  # the journal's clean close ends the last interval at its close time
                assert a[:-1] == b[:-1]
            else:
                assert a == b, c
    # the journal's close time, 10 s after its reference, on the recording's clock
    assert float(tables[1].columns["stop_time"][-1]) == round(10.0 - 1.500456, 6)
    for p in (from_journal, from_nwb):
        assert nwbcheck.validate(p) == []


def test_offset_shifts_every_time(cli, originals, settings_log, tmp_path):
    rec = fresh(originals, tmp_path, "default")
    run = cli.run("attach", rec, settings_log, "--offset", "1.5")
    assert run.returncode == 0, run.describe()
    ts, rows = annotation_rows(rec)
    assert ts == [max(r + 1.5, 0.0) for r in RELS]
    assert rows[0]["timestamp"] == -1.0 and "timestamp" not in rows[1]


def test_a_recording_that_already_holds_our_objects(cli, originals, settings_log, tmp_path):
    rec = fresh(originals, tmp_path, "busy")
    assert cli.run("attach", rec, settings_log, "--sinks", "annotations,table").returncode == 0
    first = snapshot(rec)
    digest = sha(rec)
    again = cli.run("attach", rec, settings_log, "--sinks", "annotations,table")
    assert again.returncode == 1, again.describe()
    assert "REFUSED" in again.stdout
    assert "/acquisition/settings_annotations, /intervals/pipeline_settings" in again.stdout
    assert sha(rec) == digest
    other = cli.run("attach", rec, settings_log, "--sinks", "annotations,table", "--table-name", "settings_b", "--annotation-name", "notes_b")
    assert other.returncode == 0, other.describe()
    after = snapshot(rec, exclude=("/acquisition/notes_b", "/intervals/settings_b"))
    assert after == first
    assert annotation_rows(rec, "notes_b")[0] == annotation_rows(rec)[0]
    assert nwbcheck.validate(rec) == []


def _flag_open_for_write(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[11] |= 1
    p.write_bytes(bytes(b))


def _live_journal(p: Path) -> None:
    Path(f"{p}.journal.jsonl").write_text(json.dumps({"nwb_settings_journal": 1, "nwb_file": p.name}) + "\n")


@pytest.mark.parametrize(
    "case,variant,prepare,message",
    [
        ("open-for-write flag", "latest", _flag_open_for_write, "open for write"),
        ("record journal without an end", "default", _live_journal, "nwb-settings record is writing it, or crashed"),
        ("hard link", "default", lambda p: os.link(p, p.with_name("alias.nwb")), "2 hard links"),
        ("not NWB", "default", lambda p: p.write_text("not hdf5"), "not an HDF5 file"),
    ],
)
def test_refuses_before_writing(cli, originals, settings_log, tmp_path, case, variant, prepare, message):
    rec = fresh(originals, tmp_path, variant)
    prepare(rec)
    digest = sha(rec)
    run = cli.run("attach", rec, settings_log)
    assert run.returncode == 1, run.describe()
    assert "REFUSED" in run.stdout and message in run.stdout, run.describe()
    assert sha(rec) == digest and hidden(tmp_path) == []


def test_refuses_bad_settings(cli, originals, tmp_path):
    rec = fresh(originals, tmp_path, "default")
    digest = sha(rec)
    relative = tmp_path / "relative.jsonl"
    relative.write_text(json.dumps({"seq": 1, "timestamp": 12.5, "component_address": "a", "event_type": "UPDATED", "repr_value": {"x": 1}, "structured_value": {"x": 1}, "source_session_id": None}) + "\n")
    run = cli.run("attach", rec, relative)
    assert run.returncode == 1 and "is not Unix time" in run.stdout, run.describe()
    run = cli.run("attach", rec, tmp_path / "missing.jsonl")
    assert run.returncode == 1 and "no such file" in run.stdout, run.describe()
    # A setting that changes type would need a second table: refused, the rule says what to do.
    base = session_unix_micros() / 1e6
    changing = tmp_path / "changing.jsonl"
    with open(changing, "w") as f:
        for i, v in enumerate([1, "one"]):
            f.write(json.dumps({"seq": i + 1, "timestamp": base + i, "component_address": "a", "event_type": "UPDATED", "repr_value": {"x": v}, "structured_value": {"x": v}, "source_session_id": None}) + "\n")
    run = cli.run("attach", rec, changing, "--sinks", "table")
    assert run.returncode == 1 and "--sinks annotations" in run.stdout, run.describe()
    assert sha(rec) == digest and hidden(tmp_path) == []
    # Every event rejected by the sinks: nothing to add, so the recording is not replaced.
    rejected = tmp_path / "rejected.jsonl"
    rejected.write_text(json.dumps({"seq": 1, "timestamp": base, "component_address": "a", "event_type": "UPDATED", "repr_value": {"x": 1}, "structured_value": {"x": 1}, "source_session_id": None, "table_name": "not/one/name"}) + "\n")
    run = cli.run("attach", rec, rejected)
    assert run.returncode == 1 and "FAILED" in run.stdout and "none of the 1 events could be attached" in run.stdout, run.describe()
    assert "cannot name an NWB AnnotationSeries" in run.stderr, run.describe()
    assert sha(rec) == digest and hidden(tmp_path) == []
    ok = cli.run("attach", rec, changing, "--sinks", "annotations")
    assert ok.returncode == 0, ok.describe()


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give RECORDING SETTINGS"),
        (["only-one.nwb"], "two paths"),
        (["a.nwb", "b.jsonl", "--manifest", "m.csv"], "not both"),
        (["a.nwb", "b.jsonl", "--shard", "0/2"], "--shard slices a --manifest"),
        (["--manifest", "m.csv", "--shard", "2/2"], "0 … N-1"),
        (["a.nwb", "b.jsonl", "--offset", "soon"], "--offset"),
        (["a.nwb", "b.jsonl", "--table-name", "a/b"], "one NWB object name"),
        (["a.nwb", "b.jsonl", "--sinks", "nope"], "unknown sink"),
        (["--manifest", "does-not-exist.csv"], "cannot read the manifest"),
    ],
)
def test_wrong_calls_exit_2(cli, tmp_path, args, message):
    run = cli.run("attach", *args, cwd=tmp_path)
    assert run.returncode == 2, run.describe()
    assert message in run.stderr, run.describe()


# ---------------------------------------------------------------------------------------------------
# locks
# ---------------------------------------------------------------------------------------------------

HOLDER = """
import sys, h5py
f = h5py.File(sys.argv[1], sys.argv[2])
print("open", flush=True)
sys.stdin.read()
f.close()
"""


@pytest.mark.parametrize("mode", ["r", "a"])
def test_refused_while_h5py_holds_the_file(cli, originals, settings_log, tmp_path, mode):
    rec = fresh(originals, tmp_path, "default")
    digest = sha(rec)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(rec), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        run = cli.run("attach", rec, settings_log)
        assert run.returncode == 1, run.describe()
        assert "is open in another program" in run.stdout, run.describe()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    if mode == "r":
        assert sha(rec) == digest
    assert hidden(tmp_path) == []
    # once the holder is gone, attach goes ahead
    assert cli.run("attach", rec, settings_log).returncode == 0


def test_a_second_attach_is_refused_while_the_first_runs(cli, originals, settings_log, tmp_path):
    rec = fresh(originals, tmp_path, "default")
    digest = sha(rec)
    first = subprocess.Popen(
        [NODE, str(BIN), "attach", str(rec), str(settings_log)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NWB_SETTINGS_ATTACH_TRACE": "1"},
    )
    try:
        for line in first.stderr:
            if line.startswith("attach-phase locked"):
                break
        first.send_signal(signal.SIGSTOP)  # holds the lock, mid-attach
        second = cli.run("attach", rec, settings_log)
        assert second.returncode == 1, second.describe()
        assert "is open in another program" in second.stdout and "left untouched" in second.stdout
        assert sha(rec) == digest
    finally:
        first.send_signal(signal.SIGCONT)
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert annotation_rows(rec)[0] == [max(r, 0.0) for r in RELS]


# ---------------------------------------------------------------------------------------------------
# batch and shards
# ---------------------------------------------------------------------------------------------------


def test_shards_cover_every_manifest_line_exactly_once(cli, originals, settings_log, tmp_path):
    lines = ["recording,settings", "# seven sessions"]
    for i in range(7):
        d = tmp_path / f"ses{i}"
        d.mkdir()
        shutil.copyfile(originals["default"], d / "rec.nwb")
        shutil.copyfile(settings_log, d / "settings.jsonl")
        lines.append(f"ses{i}/rec.nwb,ses{i}/settings.jsonl")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    procs = [
        subprocess.Popen([NODE, str(BIN), "attach", "--manifest", str(manifest), "--shard", f"{k}/3", "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    done = [l.split()[1] for out, _ in outs for l in out.splitlines() if l.startswith("OK")]
    assert sorted(done) == sorted(str(tmp_path / f"ses{i}" / "rec.nwb") for i in range(7))
    assert [f"shard {k}/3: {n} of 7 pair(s)" in err for k, ((_, err), n) in enumerate(zip(outs, [3, 2, 2]))] == [True] * 3
    for i in range(7):
        assert annotation_rows(tmp_path / f"ses{i}" / "rec.nwb")[0] == [max(r, 0.0) for r in RELS]


def test_batch_reports_every_pair(cli, originals, settings_log, tmp_path):
    good = fresh(originals, tmp_path, "gzip", "good.nwb")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"good.nwb,{settings_log}\nmissing.nwb,{settings_log}\nnot a pair\n")
    run = cli.run("attach", "--manifest", manifest, "--jobs", "2")
    assert run.returncode == 1, run.describe()
    assert f"OK      {good}" in run.stdout
    assert "REFUSED" in run.stdout and "missing.nwb: no such file" in run.stdout
    assert "m.csv:3: expected" in run.stderr
    assert "2 recording(s): 1 ok, 1 not attached" in run.stdout
