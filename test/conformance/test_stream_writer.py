"""The NWB stream writer (src/nwb/stream-writer.ts) read back with pynwb: numpy makes the samples,
the built writer stores them, pynwb must return them bit-identical, with the rule's series split,
rate/starting_time or timestamps exact, ElectricalSeries with their electrodes, and the file must
validate and pass nwbinspector with nothing at CRITICAL or BEST_PRACTICE_VIOLATION."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import META, NODE, REPO
from nwbcheck import inspect, validate

RUNNER = REPO / "test" / "conformance" / "stream_writer_run.mjs"
REF_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Manifest:
    def __init__(self, d: Path):
        self.dir = d
        self.chunks: list[dict] = []
        self.expected: dict[str, list] = {}  # series name -> list of (array, times)

    def add(self, stream, arr, *, start=None, rate=None, timestamps=None, labels=None, unit="a.u.", conversion=1.0, offset=0.0, flush=False):
        i = len(self.chunks)
        f = f"c{i}.bin"
        (self.dir / f).write_bytes(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
        c = {"stream": stream, "file": f, "type": arr.dtype.name, "rows": arr.shape[0], "sample_shape": list(arr.shape[1:]),
             "unit": unit, "conversion": conversion, "offset": offset, "flush": flush}
        if timestamps is not None:
            c["timestamps_file"] = f"t{i}.bin"
            (self.dir / c["timestamps_file"]).write_bytes(np.asarray(timestamps, "<f8").tobytes())
        else:
            c["start"], c["rate"] = start, rate
        if labels is not None:
            c["labels"] = labels
        self.chunks.append(c)

    def write(self) -> Path:
        p = self.dir / "manifest.json"
        p.write_text(json.dumps({"reference_time_ms": REF_MS, "electrode_location": "root", "chunks": self.chunks}))
        return p


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("streams")
    m = Manifest(d)
    rng = np.random.default_rng(10)
    labels = [f"Ch{i:02d}" for i in range(8)]
    sig = [rng.standard_normal((100, 8)).astype(np.float32) for _ in range(5)]
    for k, a in enumerate(sig):  # contiguous 1 kHz, 100-sample chunks, labels -> one ElectricalSeries
        m.add("SIG/OUTPUT_SIGNAL", a, start=12.5 + k * 0.1, rate=1000.0, labels=labels, unit="volts", conversion=1e-6, flush=(k == 2))
    i16 = [rng.integers(-32768, 32767, (50, 4), dtype=np.int16) for _ in range(5)]
    for k, a in enumerate(i16):  # 500 Hz, a 0.3 s gap before chunk 3 -> two series
        m.add("I16", a, start=3.0 + k * 0.1 + (0.3 if k >= 3 else 0.0), rate=500.0, unit="uV", conversion=0.195)
    var_t = []
    for k in range(3):  # irregular timestamps
        t = np.sort(rng.uniform(20 + k, 21 + k, 40))
        var_t.append(t)
        m.add("VAR", rng.standard_normal((40, 3)), timestamps=t)
    chg = [rng.standard_normal((30, 2)).astype(np.float32), rng.standard_normal((30, 3)).astype(np.float32), rng.standard_normal((30, 3)).astype(np.float64)]
    m.add("chg", chg[0], start=1.0, rate=100.0)  # then channel count change, then dtype change
    m.add("chg", chg[1], start=1.3, rate=100.0)
    m.add("chg", chg[2], start=1.6, rate=100.0)
    big = rng.standard_normal((5000, 300)).astype(np.float32)  # wider than one channel block, many chunks
    for k in range(5):
        m.add("wide", big[k * 1000:(k + 1) * 1000], start=0.0 + k * 1000 / 30000, rate=30000.0)
    m.add("a_b", rng.integers(0, 255, (10,), dtype=np.uint8), start=0.0, rate=10.0)  # 1-D; collides with "a/b"
    m.add("a/b", rng.integers(0, 255, (10,), dtype=np.uint8), start=0.0, rate=10.0)
    out = d / "streams.nwb"
    r = subprocess.run([NODE, str(RUNNER), str(m.write()), str(out), str(META)], capture_output=True, text=True, cwd=str(REPO), timeout=180)
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout), {"sig": sig, "i16": i16, "var_t": var_t, "chg": chg, "big": big, "labels": labels}


def _read(path):
    from pynwb import NWBHDF5IO

    warnings.simplefilter("ignore")
    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_series_split_by_the_rule(written):
    _, report, _ = written
    assert report["series"] == {
        "SIG/OUTPUT_SIGNAL": ["SIG_OUTPUT_SIGNAL"],
        "I16": ["I16", "I16_2"],
        "VAR": ["VAR"],
        "chg": ["chg", "chg_2", "chg_3"],
        "wide": ["wide"],
        "a_b": ["a_b"],
        "a/b": ["a_b_2"],
    }
    assert report["reasons"][5:10] == ["first", None, None, "gap", None]
    assert report["reasons"][13:16] == ["first", "shape", "type"]


def test_electrical_series_bit_identical_with_rate_and_electrodes(written):
    path, _, src = written
    io, f = _read(path)
    with io:
        es = f.acquisition["SIG_OUTPUT_SIGNAL"]
        assert type(es).__name__ == "ElectricalSeries"
        data = es.data[:]
        assert data.dtype == np.float32
        assert data.tobytes() == np.concatenate(src["sig"]).tobytes()
        assert es.rate == 1000.0 and es.starting_time == 12.5 and es.timestamps is None
        assert es.conversion == 1e-6 and es.unit == "volts"
        rows = list(es.electrodes.data[:])
        table = f.electrodes.to_dataframe()
        assert list(table.iloc[rows]["label"]) == src["labels"]
        assert list(table.iloc[rows]["group_name"]) == ["SIG_OUTPUT_SIGNAL"] * 8
        assert list(table.iloc[rows]["location"]) == ["root"] * 8  # the subject is a mouse: an Allen CCF term
        assert es.electrodes.table is f.electrodes
        assert f.electrodes["group"][rows[0]].device.name == "acquisition_system"


def test_gap_starts_a_new_series_with_its_own_start(written):
    path, _, src = written
    io, f = _read(path)
    with io:
        a, b = f.acquisition["I16"], f.acquisition["I16_2"]
        assert type(a).__name__ == "TimeSeries"
        assert a.data[:].tobytes() == np.concatenate(src["i16"][:3]).tobytes() and a.data.dtype == np.int16
        assert b.data[:].tobytes() == np.concatenate(src["i16"][3:]).tobytes()
        assert (a.starting_time, a.rate) == (3.0, 500.0)
        assert abs(b.starting_time - 3.6) < 1e-12 and b.rate == 500.0
        assert a.unit == "uV" and a.conversion == 0.195


def test_irregular_timestamps_and_changes(written):
    path, _, src = written
    io, f = _read(path)
    with io:
        v = f.acquisition["VAR"]
        assert v.rate is None and v.timestamps[:].tobytes() == np.concatenate(src["var_t"]).tobytes()
        assert v.data.shape == (120, 3) and v.data.dtype == np.float64
        chg = src["chg"]
        assert f.acquisition["chg"].data[:].tobytes() == chg[0].tobytes()
        assert f.acquisition["chg_2"].data[:].tobytes() == chg[1].tobytes()
        c3 = f.acquisition["chg_3"]
        assert c3.data.dtype == np.float64 and c3.data[:].tobytes() == chg[2].tobytes() and c3.starting_time == 1.6
        w = f.acquisition["wide"]
        assert w.data[:].tobytes() == src["big"].tobytes()
        assert w.data.chunks == (2048, 64)  # see chooseChunks: 64-channel blocks, ~512 KiB
        assert f.acquisition["a_b_2"].data.shape == (10,)


def test_validates_and_inspects_clean(written):
    path, _, _ = written
    assert validate(path) == []
    gate = inspect(path).gate
    assert gate == [], "\n".join(gate)
