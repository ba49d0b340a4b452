"""Write ezmsg 3.10.0b5 AxisArray payloads for the decoder's unit tests (test/unit/ezmsg/axisarray.test.ts).

Usage:
    .venv-ezmsg310/bin/python test/interop/make_ezmsg310_vectors.py

Writes test/fixtures/ezmsg/axisarray310/<name>.payload: the MessageMarshal payload ("EZ" header +
pickle 5 + out-of-band buffers) exactly as a 3.10.0b5 publisher sends it to a channel that did not
claim axis elision, and <name>.json with what it must decode to. 3.10 adds `stream_dim` to
AxisArray and pickles a CoordinateAxis with its cached `_fingerprint` (a tuple holding a numpy
dtype). Nothing here is needed at test time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import ezmsg.core as ez
import numpy as np
from ezmsg.core.messagemarshal import MessageMarshal
from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis, LinearAxis

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "ezmsg" / "axisarray310"


def write(name: str, msg: AxisArray, msg_id: int) -> None:
    with MessageMarshal.serialize(msg_id, msg) as (total, header, buffers):
        payload = header + b"".join(bytes(b) for b in buffers)
    assert len(payload) == total
    (OUT / f"{name}.payload").write_bytes(payload)
    labels = msg.axes["ch"].data.tolist() if "ch" in msg.axes else None
    (OUT / f"{name}.json").write_text(json.dumps({
        "ezmsg_version": ez.__version__, "msg_id": msg_id, "dims": msg.dims, "stream_dim": msg.stream_dim,
        "dtype": msg.data.dtype.str, "shape": list(msg.data.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(msg.data).tobytes()).hexdigest(),
        "gain": msg.axes[msg.stream_dim or "time"].gain, "offset": msg.axes[msg.stream_dim or "time"].offset,
        "labels": labels}, indent=1) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    labels = np.array([f"Ch{i:02d}" for i in range(4)])
    # stream_dim declared, time not first: the recorder must put "samp" first
    data = rng.standard_normal((4, 6)).astype(np.float32)
    write("stream_dim_second", AxisArray(data, dims=["ch", "samp"], axes={"samp": LinearAxis(unit="s", gain=0.001, offset=1700000000.25),
          "ch": CoordinateAxis(data=labels, dims=["ch"])}, attrs={"seq": 3}, key="X", stream_dim="samp"), 3)
    # no stream_dim (None): "time" is the stream axis as in 3.9
    i16 = (np.arange(24, dtype=np.int16).reshape(6, 4) - 12)
    write("no_stream_dim", AxisArray(i16, dims=["time", "ch"], axes={"time": LinearAxis(unit="s", gain=0.002, offset=12.5),
          "ch": CoordinateAxis(data=labels, dims=["ch"])}), 0)


if __name__ == "__main__":
    main()
