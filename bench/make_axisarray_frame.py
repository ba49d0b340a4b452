"""Write one ezmsg 3.9 TX_TCP frame holding a float32 AxisArray (n_time, 256) with LinearAxis 30 kHz
and 256 channel labels, framed by ezmsg's own MessageMarshal: python make_axisarray_frame.py N OUT"""

import sys

import numpy as np
from ezmsg.core.messagemarshal import MessageMarshal
from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis, LinearAxis

n, out = int(sys.argv[1]), sys.argv[2]
data = np.random.default_rng(0).standard_normal((n, 256)).astype(np.float32)
msg = AxisArray(data, dims=["time", "ch"], axes={"time": LinearAxis(unit="s", gain=1 / 30000, offset=1700000000.0),
                "ch": CoordinateAxis(data=np.array([f"ch{i:03d}" for i in range(256)]), dims=["ch"])}, key="raw")
with MessageMarshal.serialize(0, msg) as (total, header, bufs):
    payload = header + b"".join(bytes(b) for b in bufs)
frame = bytes([0x0D]) + (0).to_bytes(8, "little") + total.to_bytes(8, "little") + payload
open(out, "wb").write(frame)
