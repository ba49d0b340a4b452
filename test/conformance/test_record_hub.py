"""End-to-end (#4): `nwb-settings record --source embedded --hub-port 0`, a Node publisher
(test/conformance/hub_publisher.mjs, the real hub protocol) that registers two components and
changes them, stop with SIGTERM; then pynwb reads both sinks and every row is compared with the
plan below (values and types) and the publisher's acknowledged seqs and send/ack times.

The hub is empty when the recorder starts, so the registrations arrive live as INITIAL events
(no startup snapshot, no sentinel): the JSON-row sink holds them as one run sorted by
(time, seq), and the typed table merges them into the `__init_final__` first row when the first
update arrives (docs/table-sink.md "an UPDATED while INITIALs are buffered"). One update sends only
some fields: the table keeps the others' values.

Also: `record` refuses an existing output (or journal) without `--overwrite`, exits non-zero and
leaves both untouched.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import META, NODE, REPO
from liverec import Child, Ev, check_recording, start_record, wait_journal

PUBLISHER = REPO / "test" / "conformance" / "hub_publisher.mjs"

# Registered in this order (not address order); ints past 2**53, floats with integral values,
# non-ASCII text, bools, a list of floats, a nested mapping.
REGISTER = [
    ["B/SECOND", {"rate": 2.0, "count": 7, "label": "naïve ✓", "on": True, "taps": [0.5, 1.0, 1.5], "nested": {"depth": 3, "scale": 0.25}}],
    ["A/FIRST", {"mode": "idle", "big": 2**60, "gain": 1.0}],
]
UPDATES = [
    ["A/FIRST", {"mode": "run", "big": 2**60 + 1, "gain": 2.0}],
    ["B/SECOND", {"rate": 3.5, "count": 8, "label": "Zürich", "on": False, "taps": [0.1, 0.2, 0.3], "nested": {"depth": 4, "scale": 0.5}}],
    ["A/FIRST", {"mode": "stop", "big": -5, "gain": 0.125}],
    ["A/FIRST", {"gain": 3.0}],  # only one field: the table keeps mode and big
    ["B/SECOND", {"rate": 4.0, "count": -1, "label": "", "on": True, "taps": [1e-300, -0.0, 1e300], "nested": {"depth": 0, "scale": 1.0}}],
]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("hub")
    out = d / "hub.nwb"
    plan = d / "plan.json"
    plan.write_text(json.dumps({"session": "e2e-hub", "interval_ms": 60, "register": REGISTER, "updates": UPDATES}, ensure_ascii=False))
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--sinks", "annotations,table", "--meta", META,
                       "--flush-interval", "200")
    pub = None
    try:
        url = rec.wait_stderr(r"recording the embedded hub at (ws://127\.0\.0\.1:(\d+))", 20).group(1)
        assert int(url.rsplit(":", 1)[1]) > 0
        rec.wait_stderr(r"startup snapshot done; live after seq 0", 20)
        pub = Child("hub publisher", [NODE, str(PUBLISHER), url, str(plan)])
        done = pub.wait_event("done", 20)
        assert pub.wait(10) == 0, pub.describe()
        wait_journal(out, done["last_seq"], 10, rec)
        sent = time.time()
        rec.send(signal.SIGTERM)
        rc = rec.wait(20)
        exited = time.time()
        yield out, rec, rc, pub, sent, exited
    finally:
        if pub is not None:
            pub.kill()
        rec.kill()


def test_record_embedded_hub_sigterm(recording) -> None:
    out, rec, rc, pub, sent, exited = recording
    n = len(REGISTER) + len(UPDATES)
    assert rc == 0, rec.describe()
    assert f"stopped (SIGTERM): {n} events recorded" in rec.stdout, rec.describe()
    assert "error" not in rec.stderr.lower(), rec.describe()

    acts = [e for e in pub.events if e["event"] in ("register", "update")]
    assert [e["seq"] for e in acts] == list(range(1, n + 1))
    plan = REGISTER + UPDATES
    events = []
    widths = []
    for a, (comp, value) in zip(acts, plan):
        assert a["component"] == comp
        lo, hi = a["before_ms"] / 1000, (a["after_ms"] + 1) / 1000  # the hub stamps Date.now(): whole ms
        events.append(Ev("INITIAL" if a["event"] == "register" else "UPDATED", comp, a["seq"], (lo + hi) / 2, value))
        widths.append((hi - lo) / 2)

    import nwbcheck

    origin = nwbcheck.read(out).session_start_time.timestamp()  # no startup snapshot: origin = recording start
    # an event's file time is its hub time minus the session start; both ends known to ~1 ms
    tol = max(widths) + 0.003
    last = events[-1].wall - origin
    checked = check_recording(out, events, origin, stop_window=(last - tol, exited - origin + 0.01), time_tolerance=tol)
    assert checked.table_rows == len(UPDATES) + 1  # the startup state, then one row per update (no anchors)
    assert checked.stop_time >= sent - origin - 0.01  # closed at the stop, not at the last update


def test_record_refuses_existing_output_without_overwrite(recording, tmp_path: Path) -> None:
    out, *_ = recording
    journal = Path(f"{out}.journal.jsonl")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out, journal)}
    r = subprocess.run(
        [NODE, str(REPO / "bin" / "nwb-settings.js"), "record", "--source", "embedded", "--hub-port", "0", "--out", str(out),
         "--sinks", "annotations,table", "--meta", str(META)],
        cwd=str(REPO), capture_output=True, text=True, timeout=30,
    )
    assert r.returncode != 0, r
    assert str(out) in r.stderr and "--overwrite" in r.stderr, r.stderr
    for p, (data, mtime) in before.items():
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime, f"{p} was touched"
    # only the journal left behind by an earlier run also blocks a new recording
    alone = tmp_path / "j.nwb"
    Path(f"{alone}.journal.jsonl").write_text("keep me\n")
    r = subprocess.run(
        [NODE, str(REPO / "bin" / "nwb-settings.js"), "record", "--source", "embedded", "--hub-port", "0", "--out", str(alone)],
        cwd=str(REPO), capture_output=True, text=True, timeout=30,
    )
    assert r.returncode != 0 and "--overwrite" in r.stderr, r
    assert Path(f"{alone}.journal.jsonl").read_text() == "keep me\n" and not alone.exists()


def test_record_that_cannot_write_exits_1_promptly() -> None:
    """The journal beside the output cannot be created (/proc refuses new files, also for root):
    `record` reports it and exits 1 — it used to print the error and then run forever, its producer
    reconnecting and its embedded hub open."""
    t0 = time.monotonic()
    r = subprocess.run(
        [NODE, str(REPO / "bin" / "nwb-settings.js"), "record", "--source", "embedded", "--hub-port", "0", "--out", "/proc/nwb-settings-e2e.nwb",
         "--meta", str(META)],
        cwd=str(REPO), capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 1, r
    assert "cannot create journal /proc/nwb-settings-e2e.nwb.journal.jsonl" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 15


JSON_PUBLISHER = REPO / "test" / "conformance" / "hub_json_publisher.mjs"


def test_a_json_stringify_publisher_stepping_a_float_writes_one_segment(tmp_path: Path) -> None:
    """#12: a plain `ws` + JSON.stringify publisher steps gain 1.5 -> 2.0 -> 2.5 -> ... (2.0 goes out
    as `2`): one file, gain a float64 column holding every value as a float, steps an int column."""
    out = tmp_path / "json.nwb"
    n = 8
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--sinks", "annotations,table", "--meta", META)
    pub = None
    try:
        url = rec.wait_stderr(r"recording the embedded hub at (ws://127\.0\.0\.1:(\d+))", 20).group(1)
        rec.wait_stderr(r"startup snapshot done; live after seq 0", 20)
        pub = Child("json publisher", [NODE, str(JSON_PUBLISHER), url, str(n), "40"])
        done = pub.wait_event("done", 30)
        assert pub.wait(10) == 0, pub.describe()
        wait_journal(out, done["last_seq"], 10, rec)
        rec.send(signal.SIGTERM)
        assert rec.wait(20) == 0, rec.describe()
    finally:
        if pub is not None:
            pub.kill()
        rec.kill()
    assert sorted(p.name for p in tmp_path.glob("json*.nwb")) == ["json.nwb"], "the float column must not rotate"
    from liverec import read_table

    df, cells = read_table(out)
    assert str(df["SIM.GAIN.gain"].dtype) == "float64"
    gains = [float(x) for x in cells["SIM.GAIN.gain"]]
    assert gains == [1.5 + 0.5 * i for i in range(n + 1)]
    assert all(type(x) is np.float64 for x in cells["SIM.GAIN.gain"])
    assert str(df["SIM.GAIN.steps"].dtype) == "int64" and [int(x) for x in cells["SIM.GAIN.steps"]] == list(range(n + 1))
    assert str(df["SIM.GAIN.offset"].dtype) == "float64"
    import nwbcheck

    assert nwbcheck.validate(out) == []
    assert nwbcheck.inspect(out, config="dandi").gate == []
