"""Data-path contender: ezmsg-nwb 1.13's NWBSink writing the bench's AxisArray stream (bench/.venv-ref).

    python bench/nwbsink_data.py ROWS MESSAGES OUT.nwb

The same stream as bench/data-path.js (float32 (ROWS, 256), LinearAxis 30 kHz, labels ch000..ch255,
key "raw"), each message handed to ``NWBSinkConsumer._process`` — what ``NWBSink`` runs (in a thread)
for every message it receives — as fast as it returns, then ``close(write=True)`` as its shutdown
does. No transport: the sink's own cost, as bench/data-path.js measures ours without a socket.
Prints "start <unix s>" before creating the sink, then one JSON line: wall and CPU seconds of the
write loop + close (after the file is created), peak RSS.
"""

import json
import resource
import sys
import time

rows, messages, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

import numpy as np  # noqa: E402
from ezmsg.nwb.writer import NWBSinkConsumer, NWBSinkSettings  # noqa: E402
from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis, LinearAxis  # noqa: E402

data = np.random.default_rng(0).standard_normal((rows, 256)).astype(np.float32)
labels = np.array([f"ch{i:03d}" for i in range(256)])
t0 = time.time()
msgs = [
    AxisArray(data, dims=["time", "ch"], axes={"time": LinearAxis(unit="s", gain=1 / 30000, offset=t0 + i * rows / 30000),
              "ch": CoordinateAxis(data=labels, dims=["ch"])}, key="raw")
    for i in range(min(messages, 64))
]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


print(f"start {time.time():.6f}", flush=True)
consumer = NWBSinkConsumer(settings=NWBSinkSettings(filepath=out, overwrite_old=True))
w0, c0 = time.time(), cpu()  # the write loop, after the file is created (as bench/data-path.js)
for i in range(messages):
    m = msgs[i % len(msgs)]
    if i >= len(msgs):  # keep time moving on: the sink writes per-sample timestamps
        m = AxisArray(data, dims=m.dims, axes={"time": LinearAxis(unit="s", gain=1 / 30000, offset=t0 + i * rows / 30000), "ch": m.axes["ch"]}, key="raw")
    consumer._process(m)
consumer.close(write=True)
wall, cpu_s = time.time() - w0, cpu() - c0
print(json.dumps({"wall": wall, "cpu": cpu_s, "rssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
