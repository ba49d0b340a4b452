"""End-to-end (#10): `nwb-settings record --streams` against a real ezmsg 3.9 pipeline.

A GraphServer and a pipeline (test/interop/ezmsg_axisarray_pipeline.py) publishing float32 AxisArrays
with channel labels (STREAMS/SIG) and int16 ones with units/scale attrs (STREAMS/I16), whose setting
STREAMS/SIG `scale` changes mid-stream, run as child processes. `record --streams` with a glob
records both next to the settings, is stopped with SIGINT and must exit 0. pynwb then reads each
series bit-identical to what the publisher logged it sent (sha256 per message), with rate and
starting_time matching the AxisArray time axis, the settings change on the same time axis to 1 µs,
and the file validates and passes nwbinspector with nothing at CRITICAL or BEST_PRACTICE_VIOLATION.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import META
from liverec import INTEROP, PYTHON, Child, start_graph_server, start_record
from nwbcheck import inspect, validate

MESSAGES = 40


@pytest.fixture
def children():
    started: list[Child] = []
    yield started
    for c in reversed(started):
        c.stop(signal.SIGTERM, timeout=5)


def test_record_streams_with_a_settings_change(tmp_path: Path, children: list[Child]) -> None:
    server, port = start_graph_server()
    children.append(server)
    out = tmp_path / "streams.nwb"
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", out, "--meta", META, "--flush-interval", "200",
                       "--streams", "STREAMS/*/OUTPUT_SIGNAL", "--electrode-location", "root", "--monitor", "0")
    children.append(rec)
    rec.wait_stderr(r"recording .* into", 30)
    monitor = rec.wait_stderr(r"monitor page at (http://127\.0\.0\.1:\d+/)", 30).group(1)
    pipe = Child("ezmsg stream pipeline", [PYTHON, "-u", str(INTEROP / "ezmsg_axisarray_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
                                           "--messages", str(MESSAGES), "--interval", "0.02", "--start-delay", "4.0", "--change-at", "20"])
    children.append(pipe)
    pipe.wait_event("started", 30)
    # the units publish after 4 s; the recorder finds their topics (polled each second) before that
    rec.wait_stderr(r"STREAMS/SIG/OUTPUT_SIGNAL connected", 20)
    rec.wait_stderr(r"STREAMS/I16/OUTPUT_SIGNAL connected", 20)
    assert not [e for e in pipe.events if e.get("event") == "sent"], "the pipeline published before the recorder was connected"
    setting = pipe.wait_event("setting", 30)
    pipe.wait_until("both units done", lambda: sum(1 for e in pipe.events if e.get("event") == "done") == 2, 30)
    import time

    time.sleep(1.0)
    # the monitor page's data (#14): each stream's rate, messages and buffer, the setting change
    import urllib.request

    with urllib.request.urlopen(monitor + "state.json", timeout=10) as r:
        state = json.loads(r.read())
    streams = {x["topic"]: x for x in state["status"]["streams"]}
    assert sorted(streams) == ["STREAMS/I16/OUTPUT_SIGNAL", "STREAMS/SIG/OUTPUT_SIGNAL"], state["status"]
    assert [streams["STREAMS/SIG/OUTPUT_SIGNAL"]["rate"], streams["STREAMS/I16/OUTPUT_SIGNAL"]["rate"]] == [1000.0, 500.0]
    for x in streams.values():
        assert x["frames"] == MESSAGES and x["dropped"] == 0 and x["bufferBytes"] == 256_000_000, x
        assert x["queuedBytes"] >= 0 and x["queuedSeconds"] >= 0
    assert streams["STREAMS/SIG/OUTPUT_SIGNAL"]["bytes"] == MESSAGES * 100 * 8 * 4
    sig_settings = dict(next(c for c in state["components"] if c["address"] == "STREAMS/SIG")["settings"])
    assert sig_settings["scale"] == "2.0", sig_settings
    assert [x["path"] for x in state["status"]["segments"]] == [str(out)]
    rec.send(signal.SIGINT)
    rc = rec.wait(30)
    assert rc == 0, rec.describe()
    assert "error" not in rec.stderr.lower(), rec.describe()
    assert f"stream STREAMS/SIG/OUTPUT_SIGNAL: {MESSAGES} messages" in rec.stdout, rec.describe()
    assert "0 dropped" in rec.stdout
    sent = [e for e in pipe.events if e.get("event") == "sent"]

    from pynwb import NWBHDF5IO

    warnings.simplefilter("ignore")
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        es = f.acquisition["STREAMS_SIG_OUTPUT_SIGNAL"]
        ts = f.acquisition["STREAMS_I16_OUTPUT_SIGNAL"]
        assert type(es).__name__ == "ElectricalSeries" and type(ts).__name__ == "TimeSeries"
        sig = [e for e in sent if e["unit"] == "SIG"]
        i16 = [e for e in sent if e["unit"] == "I16"]
        assert len(sig) == len(i16) == MESSAGES
        d = es.data[:]
        assert d.dtype == np.float32 and d.shape == (MESSAGES * 100, 8)
        for k, e in enumerate(sig):
            assert hashlib.sha256(d[k * 100:(k + 1) * 100].tobytes()).hexdigest() == e["sha256"], k
        d16 = ts.data[:]
        assert d16.dtype == np.int16 and d16.shape == (MESSAGES * 50, 4)
        for k, e in enumerate(i16):
            assert hashlib.sha256(d16[k * 50:(k + 1) * 50].tobytes()).hexdigest() == e["sha256"], k
        assert es.rate == 1000.0 and ts.rate == 500.0
        assert ts.unit == "uV" and ts.conversion == 0.195
        assert es.unit == "volts" and es.conversion == 1e-6
        rows = list(es.electrodes.data[:])
        assert list(f.electrodes.to_dataframe().iloc[rows]["label"]) == sig[0]["labels"]
        # one clock: each message's time offset is where the series puts its first sample (to 1 µs),
        # and file time + timestamps_reference_time is the publisher's Unix time (--clock system;
        # the reference time is written to the millisecond)
        for k, e in enumerate(sig):
            assert abs(k * 100 / es.rate - (e["offset"] - sig[0]["offset"])) < 1e-6
        assert abs(f.timestamps_reference_time.timestamp() + es.starting_time - sig[0]["offset"]) < 2e-3
        assert abs((ts.starting_time - es.starting_time) - (i16[0]["offset"] - sig[0]["offset"])) < 1e-6
        # the settings change, on the same axis: its row time relative to the data equals the
        # server's event time relative to the publisher's time axis
        ann = [s for s in f.acquisition.values() if type(s).__name__ == "AnnotationSeries"]
        assert ann, list(f.acquisition)
        hits = [(t, v) for s in ann for t, v in zip(s.timestamps[:], s.data[:]) if "STREAMS/SIG" in v and "2.0" in v]
        assert len(hits) == 1, hits
        t_setting = hits[0][0]
        assert abs((t_setting - es.starting_time) - (setting["timestamp"] - sig[0]["offset"])) < 1e-6
        # and the data really changed after it: messages sent after the change carry scale 2.0
        first_scaled = next(k for k, e in enumerate(sig) if e["scale"] == 2.0)
        assert es.starting_time + first_scaled * 0.1 >= t_setting - 0.1
    assert validate(out) == []
    gate = inspect(out).gate
    assert gate == [], "\n".join(gate)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "127.0.0.1:1", "--streams", "SIG/OUTPUT_SIGNAL"], "needs --source ezmsg://"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", " , "], "at least one topic"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--stream-buffer", "0"], "--stream-buffer"),
        (["--source", "ezmsg://127.0.0.1:1", "--electrode-location", "root"], "needs --streams"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--clock", "sundial"], "clock"),
    ],
)
def test_record_streams_wrong_call_exits_2(cli, tmp_path: Path, args: list[str], message: str) -> None:
    r = cli.run("record", "--out", tmp_path / "x.nwb", *args)
    assert r.returncode == 2, r.describe()
    assert message in r.output, r.describe()
    assert not (tmp_path / "x.nwb").exists()
