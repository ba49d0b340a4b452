"""`nwb-settings recover` against journals written by hand from docs/journal.md (so the documented
format is what is tested), read back with pynwb: a missing, damaged or behind file is rebuilt with
every journaled event; a complete one is left alone (idempotent); nothing is replaced without
--overwrite; a torn last line is reported and ignored; the clean-close time ends the open interval."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pytest

import expected
import nwbcheck
from conftest import LOGS

START = "2026-03-01T10:00:00.000Z"


def write_journal(nwb: Path, events: list[dict], *, sinks=("annotations",), close_time=None, tail: bytes = b"") -> Path:
    journal = Path(f"{nwb}.journal.jsonl")
    header = {
        "nwb_settings_journal": 1,
        "nwb_file": nwb.name,
        "sinks": list(sinks),
        "session_start_time": START,
        "timestamps_reference_time": START,
        "created": START,
        "meta": {"session_description": "recover conformance", "identifier": "rec-1", "subject": {"subject_id": "m1", "species": "Mus musculus", "age": "P90D", "sex": "F"}},
    }
    lines = [json.dumps(header)] + [json.dumps(e, ensure_ascii=False) for e in events]
    if close_time is not None:
        lines.append(json.dumps({"nwb_settings_journal_end": {"close_time": close_time}}))
    journal.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + tail)
    return journal


def pipeline_events() -> list[dict]:
    """The realistic fixture log, shifted to file time as the recorder journals it."""
    log = expected.parse_log(LOGS / "pipeline.jsonl")
    t0 = expected.t0(log)
    out = []
    for e in log.events:
        out.append(
            {
                "seq": e.seq,
                "timestamp": e.timestamp - t0,
                "component_address": e.component_address,
                "event_type": e.event_type,
                "repr_value": e.repr_value,
                "structured_value": e.structured_value,
                "source_session_id": e.source_session_id,
                "table_name": e.table_name,
            }
        )
    return out


def assert_all_rows(nwb: Path, journal: Path) -> None:
    """pynwb reads every journaled event, exactly as the JSON-row sink contract says."""
    want = expected.expected_series(expected.parse_log(journal), "raw")  # header/end lines are not events
    content = nwbcheck.read(nwb)
    assert set(content.acquisition) == set(want)
    for name, rows in want.items():
        series = content.acquisition[name]
        assert series.timestamps == [r.time for r in rows], name
        for i, (text, row) in enumerate(zip(series.data, rows)):
            assert not expected.json_diff(json.loads(text), row.payload), (name, i)
    assert content.session_start_time.isoformat().startswith("2026-03-01T10:00:00")
    assert content.identifier == "rec-1"


def digest(p: Path) -> tuple[str, int]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns


def test_rebuilds_a_missing_file_with_every_event_and_is_idempotent(cli, tmp_path):
    nwb = tmp_path / "rec.nwb"
    journal = write_journal(nwb, pipeline_events())
    run = cli.run("recover", journal)
    assert run.returncode == 0, run.describe()
    assert "missing" in run.stdout and "rebuilt" in run.stdout, run.describe()
    assert_all_rows(nwb, journal)
    assert nwbcheck.validate(nwb) == []
    before = digest(nwb)
    again = cli.run("recover", journal)
    assert again.returncode == 0, again.describe()
    assert re.search(r"rec\.nwb: complete", again.stdout) and "nothing to do" in again.stdout, again.describe()
    assert digest(nwb) == before, "a complete file was rewritten"
    check = cli.run("recover", journal, "--check")
    assert check.returncode == 0, check.describe()


def test_a_damaged_file_is_never_replaced_without_overwrite(cli, tmp_path):
    nwb = tmp_path / "rec.nwb"
    journal = write_journal(nwb, pipeline_events())
    nwb.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)  # a file cut short right after its signature
    before = digest(nwb)
    check = cli.run("recover", journal, "--check")
    assert check.returncode == 1 and "damaged" in check.stdout, check.describe()
    run = cli.run("recover", journal)
    assert run.returncode == 1, run.describe()
    assert "damaged" in run.output and "--overwrite" in run.output and str(nwb) in run.output, run.describe()
    assert digest(nwb) == before
    run = cli.run("recover", journal, "--overwrite")
    assert run.returncode == 0, run.describe()
    assert_all_rows(nwb, journal)


def test_a_file_behind_its_journal_is_reported_and_rebuilt(cli, tmp_path):
    events = pipeline_events()
    nwb = tmp_path / "rec.nwb"
    # The file as the recorder left it after the first part of the stream.
    partial = write_journal(nwb, events[: len(events) // 2])
    assert cli.run("recover", partial).returncode == 0
    journal = write_journal(nwb, events)  # the journal went on
    check = cli.run("recover", journal, "--check")
    assert check.returncode == 1 and re.search(r"behind by \d+ events? \(\d+ rows? missing\)", check.stdout), check.describe()
    out = tmp_path / "copy.nwb"
    run = cli.run("recover", journal, "--out", out)
    assert run.returncode == 0, run.describe()
    assert_all_rows(out, journal)
    refused = cli.run("recover", journal, "--out", out)
    assert refused.returncode == 1 and "--overwrite" in refused.output, refused.describe()
    assert cli.run("recover", journal, "--overwrite").returncode == 0
    assert_all_rows(nwb, journal)


def test_a_torn_last_line_is_reported_and_ignored(cli, tmp_path):
    events = pipeline_events()
    nwb = tmp_path / "rec.nwb"
    torn = json.dumps(events[-1]).encode()[:25]
    journal = write_journal(nwb, events[:-1], tail=torn)
    run = cli.run("recover", journal)
    assert run.returncode == 0, run.describe()
    assert re.search(r"line \d+ was torn", run.stdout), run.describe()
    assert_all_rows(nwb, journal)


def test_a_bad_line_inside_the_journal_names_file_and_line(cli, tmp_path):
    events = pipeline_events()
    nwb = tmp_path / "rec.nwb"
    journal = write_journal(nwb, events)
    lines = journal.read_bytes().split(b"\n")
    lines[3] = b'{"seq": "three"}'
    journal.write_bytes(b"\n".join(lines))
    run = cli.run("recover", journal)
    assert run.returncode == 1, run.describe()
    assert f"{journal}:4:" in run.stderr, run.describe()
    assert not nwb.exists()


def test_clean_close_time_ends_the_open_interval(cli, tmp_path):
    events = pipeline_events()
    nwb = tmp_path / "rec.nwb"
    last = max(e["timestamp"] for e in events)
    journal = write_journal(nwb, events, sinks=("annotations", "table"), close_time=last + 5.0)
    run = cli.run("recover", journal)
    assert run.returncode == 0, run.describe()
    assert "closed cleanly" in run.stdout, run.describe()
    files = sorted(tmp_path.glob("rec*.nwb"))
    tables = [nwbcheck.read(f).intervals["pipeline_settings"] for f in files]
    assert float(tables[-1].columns["stop_time"][-1]) == last + 5.0
    # Without the end line (a crash), the recording's end is unknown: the last interval ends at the
    # last event, and when that event opened it, its end is NaN (no zero-length row).
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    j2 = write_journal(crashed / "rec.nwb", events, sinks=("annotations", "table"))
    run = cli.run("recover", j2)
    assert run.returncode == 0 and "no clean close" in run.stdout, run.describe()
    last_table = nwbcheck.read(sorted(crashed.glob("rec*.nwb"))[-1]).intervals["pipeline_settings"]
    assert float(last_table.columns["start_time"][-1]) == last
    assert math.isnan(float(last_table.columns["stop_time"][-1]))


@pytest.mark.parametrize("cut", ["session_start_time", "file_create_date", "acquisition/settings_annotations/timestamps"])
def test_a_file_pynwb_cannot_read_is_damaged_not_behind(cli, tmp_path, cut):
    """A kill can leave a segment whose rows are on disk but whose layout is not (a root field, a
    series' timestamps): pynwb cannot read it, so recover must not call it complete or behind."""
    import h5py

    nwb = tmp_path / "rec.nwb"
    events = pipeline_events()
    journal = write_journal(nwb, events)
    assert cli.run("recover", journal).returncode == 0
    with h5py.File(nwb, "a") as f:
        assert cut in f, sorted(f["acquisition"])
        del f[cut]
    with pytest.raises(Exception):
        nwbcheck.read(nwb)
    check = cli.run("recover", journal, "--check")
    assert check.returncode == 1 and "damaged" in check.stdout and cut.split("/")[-1] in check.stdout, check.describe()
    run = cli.run("recover", journal, "--overwrite")
    assert run.returncode == 0, run.describe()
    assert_all_rows(nwb, journal)
