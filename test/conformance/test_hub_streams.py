"""End-to-end (#10 item 8): sample streams through the WebSocket hub, `record --source embedded`.

A publisher — in Python (aiohttp, speaking the protocol from scratch) or in Node (our
HubPublisher) — registers a setting, declares a float32 stream with channel labels at 1000 Hz and
an int16 stream with one timestamp per sample, sends frames (the float32 ones alternately with an
explicit first-sample time and "continues", NaN) and changes the setting halfway. The recorder
writes them through the same stream writer as ezmsg streams. pynwb then reads each frame's samples
bit-identical (sha256), the rate and starting_time where the publisher's times put them, the
int16 timestamps to 1 µs, the settings change on the same time axis (to 1 µs against the hub's own
event time), and the file passes pynwb validation and nwbinspector (no CRITICAL or
BEST_PRACTICE_VIOLATION; the test metadata has a mouse subject, so `--electrode-location root`).
"""

from __future__ import annotations

import hashlib
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import META, NODE, REPO
from liverec import Child, start_record
from nwbcheck import inspect, validate

FRAMES = 30
PUBLISHERS = {
    "python": [sys.executable, "-u", str(REPO / "test" / "conformance" / "hub_stream_publisher.py")],
    "node": [NODE, str(REPO / "test" / "conformance" / "hub_stream_publisher.mjs")],
}



@pytest.mark.parametrize("client", sorted(PUBLISHERS))
def test_hub_sample_streams(tmp_path: Path, children: list[Child], client: str) -> None:
    out = tmp_path / "hub-streams.nwb"
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--meta", META, "--flush-interval", "200", "--electrode-location", "root")
    children.append(rec)
    url = rec.wait_stderr(r"recording the embedded hub at (ws://\S+) into", 30).group(1)
    pub = Child(f"{client} stream publisher", [*PUBLISHERS[client], url, str(FRAMES)])
    children.append(pub)
    rec.wait_stderr(r"subscribed to the sample streams of hub", 30)
    pub.wait_event("done", 60)
    assert pub.wait(10) == 0, pub.describe()
    rec.wait_stderr(r"hub stream hs_f32 ended \(ended by its publisher\) after 30 frame", 30)
    rec.wait_stderr(r"hub stream hs_i16 ended \(ended by its publisher\) after 30 frame", 30)
    rec.send(signal.SIGINT)
    assert rec.wait(30) == 0, rec.describe()
    assert "error" not in rec.stderr.lower(), rec.describe()
    assert f"stream hs_f32: {FRAMES} messages, {FRAMES * 50} samples" in rec.stdout, rec.describe()
    assert f"stream hs_i16: {FRAMES} messages, {FRAMES * 20} samples" in rec.stdout, rec.describe()
    assert rec.stdout.count("; 0 dropped") == 2, rec.describe()

    sent = [e for e in pub.events if e.get("event") == "sent"]
    f32 = [e for e in sent if e["stream"] == "hs_f32"]
    i16 = [e for e in sent if e["stream"] == "hs_i16"]
    setting = next(e for e in pub.events if e.get("event") == "setting")

    from pynwb import NWBHDF5IO

    warnings.simplefilter("ignore")
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        es = f.acquisition["hs_f32"]
        ts = f.acquisition["hs_i16"]
        assert type(es).__name__ == "ElectricalSeries" and type(ts).__name__ == "TimeSeries"
        d = es.data[:]
        assert d.dtype == np.float32 and d.shape == (FRAMES * 50, 8)
        for k, e in enumerate(f32):
            assert hashlib.sha256(d[k * 50:(k + 1) * 50].tobytes()).hexdigest() == e["sha256"], k
        d16 = ts.data[:]
        assert d16.dtype == np.int16 and d16.shape == (FRAMES * 20, 4)
        for k, e in enumerate(i16):
            assert hashlib.sha256(d16[k * 20:(k + 1) * 20].tobytes()).hexdigest() == e["sha256"], k
        assert es.rate == 1000.0 and es.unit == "volts" and es.conversion == 1e-6
        assert ts.rate is None and ts.unit == "uV" and ts.conversion == 0.195
        assert list(f.electrodes.to_dataframe().iloc[list(es.electrodes.data[:])]["label"]) == [f"e{i}" for i in range(8)]
        assert set(f.electrodes.to_dataframe()["location"]) == {"root"}
        # one clock: the publisher's Unix times, less the file's reference time (ms resolution)
        ref = f.timestamps_reference_time.timestamp()
        assert abs(ref + es.starting_time - f32[0]["t0"]) < 2e-3
        sent_ts = np.concatenate([e["timestamps"] for e in i16])
        file_ts = ts.timestamps[:]
        assert file_ts.shape == sent_ts.shape
        shift = file_ts - sent_ts
        assert np.ptp(shift) < 1e-6 and abs(shift[0] - (es.starting_time - f32[0]["t0"])) < 1e-6
        # the settings change on the same axis: to 1 µs against the hub's event time
        ann = [s for s in f.acquisition.values() if type(s).__name__ == "AnnotationSeries"]
        hits = [t for s in ann for t, v in zip(s.timestamps[:], s.data[:]) if "HS/GAIN" in v and "2.0" in v]
        assert len(hits) == 1, hits
        assert abs((hits[0] - es.starting_time) - (setting["timestamp"] - f32[0]["t0"])) < 1e-6
        # and the samples after it are the doubled ones (the setting shaped the data)
        half = FRAMES // 2 * 50
        assert np.std(d[half:]) > 1.5 * np.std(d[:half])
    assert validate(out) == []
    for config in (None, "dandi"):
        gate = inspect(out, config).gate
        assert gate == [], f"nwbinspector {config or 'default'}:\n" + "\n".join(gate)
