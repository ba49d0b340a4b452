"""End-to-end (#10): `nwb-settings record --streams` against a real ezmsg pipeline, 3.9.0 and 3.10.0b5.

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
import os
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import META
from liverec import EZMSG_PYTHONS, INTEROP, Child, start_graph_server, start_record
from nwbcheck import inspect, validate

MESSAGES = 40



@pytest.mark.parametrize("version, python", EZMSG_PYTHONS, ids=[v for v, _ in EZMSG_PYTHONS])
def test_record_streams_with_a_settings_change(tmp_path: Path, children: list[Child], version: str, python: str) -> None:
    server, port = start_graph_server(python=python, version=version)
    children.append(server)
    out = tmp_path / "streams.nwb"
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", out, "--meta", META, "--flush-interval", "200",
                       "--streams", "STREAMS/*/OUTPUT_SIGNAL", "--electrode-location", "root", "--monitor", "0")
    children.append(rec)
    rec.wait_stderr(r"recording .* into", 30)
    monitor = rec.wait_stderr(r"monitor page at (http://127\.0\.0\.1:\d+/)", 30).group(1)
    pipe = Child("ezmsg stream pipeline", [python, "-u", str(INTEROP / "ezmsg_axisarray_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
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
    for config in (None, "dandi"):
        gate = inspect(out, config).gate
        assert gate == [], "\n".join(gate)


def test_record_streams_split_bytes(tmp_path: Path, children: list[Child]) -> None:
    """--split-bytes rotates into <stem>_NN.nwb: every segment is a valid NWB file that opens with the
    current settings state (table row + the latest annotation of each component), the samples
    across the segments are bit-identical to what the publisher sent, in order, and each segment's
    series continues the time axis."""
    import time

    server, port = start_graph_server()
    children.append(server)
    out = tmp_path / "split.nwb"
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", out, "--meta", META, "--flush-interval", "200",
                       "--sinks", "annotations,table", "--streams", "STREAMS/*/OUTPUT_SIGNAL", "--electrode-location", "root",
                       "--split-bytes", "50000")
    children.append(rec)
    rec.wait_stderr(r"recording .* into", 30)
    pipe = Child("ezmsg stream pipeline", [sys.executable, "-u", str(INTEROP / "ezmsg_axisarray_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
                                           "--messages", str(MESSAGES), "--interval", "0.02", "--start-delay", "3.0", "--change-at", "10"])
    children.append(pipe)
    pipe.wait_event("started", 30)
    rec.wait_stderr(r"STREAMS/I16/OUTPUT_SIGNAL connected", 20)
    setting = pipe.wait_event("setting", 30)
    pipe.wait_until("both units done", lambda: sum(1 for e in pipe.events if e.get("event") == "done") == 2, 30)
    time.sleep(1.0)
    rec.send(signal.SIGINT)
    assert rec.wait(30) == 0, rec.describe()
    assert not Path(f"{out}.samples.bin").exists(), "a clean stop leaves no sample journal"
    sent = [e for e in pipe.events if e.get("event") == "sent"]
    if os.environ.get("SPLIT_LOG"):
        Path(os.environ["SPLIT_LOG"]).write_text(rec.stderr)
    segs = [out] + [tmp_path / f"split_{i:02d}.nwb" for i in range(1, 20) if (tmp_path / f"split_{i:02d}.nwb").exists()]
    # 40 x (3200 + 400) sample bytes = 144 kB over 50 kB segments
    assert len(segs) == 3, sorted(p.name for p in tmp_path.iterdir())

    from pynwb import NWBHDF5IO

    warnings.simplefilter("ignore")
    sig_parts, i16_parts, ids, last_row = [], [], set(), None
    for k, path in enumerate(segs):
        with NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            ids.add(f.identifier)
            # a stream's series in this segment (X, then X_2, ... should it break), in time order
            def series(prefix: str) -> list:
                return sorted((v for k, v in f.acquisition.items() if k == prefix or k.startswith(prefix + "_")), key=lambda v: v.starting_time)

            sigs = series("STREAMS_SIG_OUTPUT_SIGNAL")
            assert sigs, (path.name, list(f.acquisition))
            es = sigs[0]
            sig_parts += [(v.starting_time, v.rate, v.data[:]) for v in sigs]
            i16_parts += [v.data[:] for v in series("STREAMS_I16_OUTPUT_SIGNAL")]
            # the segment stands alone: it opens with the current settings state
            table = f.intervals["pipeline_settings"].to_dataframe()
            assert len(table) >= 1, path.name
            ann = [s for s in f.acquisition.values() if type(s).__name__ == "AnnotationSeries"]
            comps = {json.loads(v)["component"] for s in ann for v in s.data[:]}
            assert "STREAMS/SIG" in comps and "STREAMS/I16" in comps, (path.name, comps)
            if k > 0:
                # its first table row is the state the previous segment ended in (same start, values)
                first = table.iloc[0]
                assert first["start_time"] == last_row["start_time"], (path.name, first, last_row)
                cols = [c for c in table.columns if c not in ("start_time", "stop_time")]
                assert [str(first[c]) for c in cols] == [str(last_row[c]) for c in cols], (path.name, first, last_row)
            last_row = table.iloc[-1]
        assert validate(path) == [], path.name
        for config in (None, "dandi"):
            gate = inspect(path, config).gate
            assert gate == [], "\n".join(gate)
    assert len(ids) == 1, ids  # one recording: every segment carries the base file's identifier
    d = np.concatenate([p[2] for p in sig_parts])
    sig = [e for e in sent if e["unit"] == "SIG"]
    assert d.shape == (MESSAGES * 100, 8), rec.describe()
    for k, e in enumerate(sig):
        assert hashlib.sha256(d[k * 100:(k + 1) * 100].tobytes()).hexdigest() == e["sha256"], k
    d16 = np.concatenate(i16_parts)
    i16 = [e for e in sent if e["unit"] == "I16"]
    assert d16.shape == (MESSAGES * 50, 4)
    for k, e in enumerate(i16):
        assert hashlib.sha256(d16[k * 50:(k + 1) * 50].tobytes()).hexdigest() == e["sha256"], k
    # one time axis across the segments: each series starts where the previous one ended
    for (t0, rate, a), (t1, _, _) in zip(sig_parts, sig_parts[1:]):
        assert abs(t0 + len(a) / rate - t1) < 1e-6


def test_record_streams_survive_graphserver_connection_cuts(tmp_path: Path, children: list[Child]) -> None:
    """The recorder reaches the GraphServer through a proxy that cuts every connection mid-stream and
    refuses new ones for 1 s: the data connections go straight to the publishers and keep
    delivering, the subscriptions and the settings session reconnect, and every sample is recorded
    bit-identical in one unbroken series per stream."""
    import time

    from liverec import TcpProxy

    server, port = start_graph_server()
    children.append(server)
    proxy = TcpProxy(port)
    try:
        out = tmp_path / "cuts.nwb"
        rec = start_record("--source", f"ezmsg://127.0.0.1:{proxy.port}", "--out", out, "--meta", META, "--flush-interval", "200",
                           "--streams", "STREAMS/*/OUTPUT_SIGNAL", "--electrode-location", "root")
        children.append(rec)
        rec.wait_stderr(r"recording .* into", 30)
        pipe = Child("ezmsg stream pipeline", [sys.executable, "-u", str(INTEROP / "ezmsg_axisarray_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
                                               "--messages", "60", "--interval", "0.05", "--start-delay", "3.0"])
        children.append(pipe)
        pipe.wait_event("started", 30)
        rec.wait_stderr(r"STREAMS/SIG/OUTPUT_SIGNAL connected", 20)
        rec.wait_stderr(r"STREAMS/I16/OUTPUT_SIGNAL connected", 20)
        pipe.wait_until("10 SIG messages sent", lambda: sum(1 for e in pipe.events if e.get("event") == "sent" and e["unit"] == "SIG") >= 10, 30)
        assert proxy.cut(rst=True) >= 3
        rec.wait_stderr(r"GraphServer connection lost", 10)
        time.sleep(1.0)
        proxy.listen()
        pipe.wait_until("both units done", lambda: sum(1 for e in pipe.events if e.get("event") == "done") == 2, 30)
        time.sleep(1.0)
        rec.send(signal.SIGINT)
        assert rec.wait(30) == 0, rec.describe()
    finally:
        proxy.close()
    assert "stream STREAMS/SIG/OUTPUT_SIGNAL: 60 messages" in rec.stdout, rec.describe()
    assert "data connections stay open, reconnecting" in rec.stderr and "resumed after seq" in rec.stderr, rec.describe()
    sent = [e for e in pipe.events if e.get("event") == "sent"]
    from pynwb import NWBHDF5IO

    warnings.simplefilter("ignore")
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        streams = sorted(k for k, v in f.acquisition.items() if type(v).__name__ != "AnnotationSeries")
        assert streams == ["STREAMS_I16_OUTPUT_SIGNAL", "STREAMS_SIG_OUTPUT_SIGNAL"], streams  # no series broke
        for unit, name, n in (("SIG", "STREAMS_SIG_OUTPUT_SIGNAL", 100), ("I16", "STREAMS_I16_OUTPUT_SIGNAL", 50)):
            d = f.acquisition[name].data[:]
            mine = [e for e in sent if e["unit"] == unit]
            assert len(mine) == 60 and d.shape[0] == 60 * n, (unit, d.shape)
            for k, e in enumerate(mine):
                assert hashlib.sha256(d[k * n:(k + 1) * n].tobytes()).hexdigest() == e["sha256"], (unit, k)
    if os.environ.get("CUTS_LOG"):
        Path(os.environ["CUTS_LOG"]).write_text(rec.stderr)


def test_record_streams_sigkill_then_recover(cli, tmp_path: Path, children: list[Child], capsys) -> None:
    """kill -9 of a recorder writing streams, then `recover`: pynwb reads every sample the publisher
    sent more than 1 s before the kill, bit-identical, and the settings change (docs/reliability.md).
    The test prints what the crash cost: samples in the file as the kill left it vs. after recover."""
    import subprocess
    import time

    from conftest import BIN, NODE, REPO

    server, port = start_graph_server()
    children.append(server)
    out = tmp_path / "crash.nwb"
    # no --electrode-location with a mouse subject: warned at start (checked below)
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", out, "--meta", META, "--flush-interval", "200",
                       "--streams", "STREAMS/*/OUTPUT_SIGNAL")
    children.append(rec)
    rec.wait_stderr(r"recording .* into", 30)
    assert 'location "unknown", which is not an Allen Mouse Brain CCF term' in rec.stderr and "--electrode-location" in rec.stderr, rec.stderr
    pipe = Child("ezmsg stream pipeline", [sys.executable, "-u", str(INTEROP / "ezmsg_axisarray_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
                                           "--messages", "400", "--interval", "0.01", "--start-delay", "3.0", "--change-at", "5"])
    children.append(pipe)
    pipe.wait_event("started", 30)
    rec.wait_stderr(r"STREAMS/SIG/OUTPUT_SIGNAL connected", 20)
    rec.wait_stderr(r"STREAMS/I16/OUTPUT_SIGNAL connected", 20)
    setting = pipe.wait_event("setting", 30)
    pipe.wait_until("80 SIG messages sent", lambda: sum(1 for e in pipe.events if e.get("event") == "sent" and e["unit"] == "SIG") >= 80, 30)
    # the promise covers samples sent more than 1 s before the kill: make sure there are some (a
    # loaded machine can send the first 80 in a burst just now)
    pipe.wait_until("20 messages of each unit sent over 1.2 s ago", lambda: min(sum(
        1 for e in pipe.events if e.get("event") == "sent" and e["unit"] == u and e["sent_at"] < time.time() - 1.2) for u in ("SIG", "I16")) >= 20, 30)
    t_kill = time.time()
    rec.kill()  # SIGKILL, mid-stream
    assert rec.proc.returncode == -signal.SIGKILL, rec.describe()
    sent = [e for e in pipe.events if e.get("event") == "sent"]
    samples_journal = Path(f"{out}.samples.bin")
    assert samples_journal.exists(), "no sample journal beside the killed recording"

    def rows_now() -> str:
        try:
            from pynwb import NWBHDF5IO

            with NWBHDF5IO(str(out), "r") as io:
                f = io.read()
                return ", ".join(f"{k}: {v.data.shape[0]}" for k, v in f.acquisition.items() if type(v).__name__ != "AnnotationSeries")
        except Exception as e:  # noqa: BLE001
            return f"NOT readable ({type(e).__name__})"

    warnings.simplefilter("ignore")
    before = rows_now()
    t0 = time.monotonic()
    r = subprocess.run([NODE, str(BIN), "recover", f"{out}.journal.jsonl", "--overwrite"], cwd=str(REPO), capture_output=True, text=True, timeout=120)
    recover_s = time.monotonic() - t0
    assert r.returncode == 0, f"recover failed:\n{r.stdout}\n{r.stderr}"
    assert "sample journal" in r.stdout, r.stdout

    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        es = f.acquisition["STREAMS_SIG_OUTPUT_SIGNAL"]
        ts = f.acquisition["STREAMS_I16_OUTPUT_SIGNAL"]
        d, d16 = es.data[:], ts.data[:]
        for unit, data, n in (("SIG", d, 100), ("I16", d16, 50)):
            mine = [e for e in sent if e["unit"] == unit]
            old = [k for k, e in enumerate(mine) if e["sent_at"] < t_kill - 1.0]
            assert len(old) >= 20, (unit, len(old))
            assert data.shape[0] >= len(old) * n, (unit, data.shape, len(old))
            for k in range(data.shape[0] // n):
                assert hashlib.sha256(data[k * n:(k + 1) * n].tobytes()).hexdigest() == mine[k]["sha256"], (unit, k)
        hits = [t for s in f.acquisition.values() if type(s).__name__ == "AnnotationSeries" for t, v in zip(s.timestamps[:], s.data[:]) if "STREAMS/SIG" in v and "2.0" in v]
        assert len(hits) == 1, hits
        assert abs((hits[0] - es.starting_time) - (setting["timestamp"] - [e for e in sent if e["unit"] == "SIG"][0]["offset"])) < 1e-6
        after = f"{es.data.shape[0]} + {ts.data.shape[0]} samples"
    assert validate(out) == []
    # what the warning said: the one violation is the electrodes' location (default and DANDI config)
    for config in (None, "dandi"):
        gate = inspect(out, config).gate
        assert len(gate) == 1 and "check_electrodes_location_allen_ccf" in gate[0] and "'unknown'" in gate[0], "\n".join(gate)
    with capsys.disabled():
        print(f"\nstream crash: sent {len(sent)} messages before the kill; file as the kill left it: {before}; after recover ({recover_s:.1f} s): {after}")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "127.0.0.1:1", "--streams", "SIG/OUTPUT_SIGNAL"], "needs --source ezmsg://"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", " , "], "at least one topic"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--stream-buffer", "0"], "--stream-buffer"),
        (["--source", "ezmsg://127.0.0.1:1", "--electrode-location", "root"], "needs --streams"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--clock", "sundial"], "clock"),
        (["--source", "ezmsg://127.0.0.1:1", "--split-bytes", "1000000"], "--split-bytes needs --streams"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--split-bytes", "0"], "--split-bytes must be"),
        (["--source", "ezmsg://127.0.0.1:1", "--streams", "X", "--split-bytes", "1.5"], "--split-bytes must be"),
    ],
)
def test_record_streams_wrong_call_exits_2(cli, tmp_path: Path, args: list[str], message: str) -> None:
    r = cli.run("record", "--out", tmp_path / "x.nwb", *args)
    assert r.returncode == 2, r.describe()
    assert message in r.output, r.describe()
    assert not (tmp_path / "x.nwb").exists()
