"""A real ezmsg pipeline publishing AxisArray sample streams, logging exactly what it sent.

Usage:
    python test/interop/ezmsg_axisarray_pipeline.py --graph-address HOST:PORT
        [--messages N] [--interval SECONDS] [--start-delay SECONDS] [--run NAME]

Units (collection "STREAMS"), each publishing N messages after the start delay, then idling (a
publisher whose generator returns is closed by ezmsg, which would end the stream early):
    STREAMS/SIG  OUTPUT_SIGNAL  float32 (100, 8), dims [time, ch], LinearAxis 1 kHz (offset a
                 Unix-time float), CoordinateAxis ch labels Ch00..Ch07, attrs {"seq": k}
    STREAMS/I16  OUTPUT_SIGNAL  int16 (50, 4), 500 Hz, offset a numpy float64, no labels,
                 attrs {"seq": k, "units": "uV", "scale": 0.195}
stdout is JSON lines: {"event": "started"}; one {"event": "sent", "unit", "seq", "shape", "dtype",
"sha256" (of the C-order data bytes), "offset", "gain", "labels"} per message, printed right after
the message was published; {"event": "done", "unit"} per unit; {"event": "stopped"} on
SIGTERM/SIGINT after the pipeline shut down (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import sys
import threading
import time
import typing

import ezmsg.core as ez
import numpy as np
from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis, LinearAxis


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


class StreamSettings(ez.Settings):
    messages: int = 20
    interval: float = 0.05
    start_delay: float = 1.0
    run: str = "run1"


class Sig(ez.Unit):
    SETTINGS = StreamSettings
    OUTPUT_SIGNAL = ez.OutputStream(AxisArray)

    @ez.publisher(OUTPUT_SIGNAL)
    async def pub(self) -> typing.AsyncGenerator:
        s = self.SETTINGS
        await asyncio.sleep(s.start_delay)
        t0 = round(time.time(), 3)
        labels = np.array([f"Ch{i:02d}" for i in range(8)])
        rng = np.random.default_rng(1 if s.run == "run1" else 2)
        for k in range(s.messages):
            data = rng.standard_normal((100, 8)).astype(np.float32)
            offset = t0 + k * 0.1
            msg = AxisArray(data, dims=["time", "ch"],
                            axes={"time": LinearAxis(unit="s", gain=0.001, offset=offset),
                                  "ch": CoordinateAxis(data=labels, dims=["ch"])},
                            attrs={"seq": k}, key="SIG")
            yield self.OUTPUT_SIGNAL, msg
            emit({"event": "sent", "unit": "SIG", "run": s.run, "seq": k, "shape": list(data.shape), "dtype": data.dtype.str,
                  "sha256": hashlib.sha256(data.tobytes()).hexdigest(), "offset": offset, "gain": 0.001,
                  "labels": labels.tolist()})
            await asyncio.sleep(s.interval)
        emit({"event": "done", "unit": "SIG"})
        while True:  # idle: a finished publisher generator would close the stream (ezmsg 3.9)
            await asyncio.sleep(1.0)


class I16(ez.Unit):
    SETTINGS = StreamSettings
    OUTPUT_SIGNAL = ez.OutputStream(AxisArray)

    @ez.publisher(OUTPUT_SIGNAL)
    async def pub(self) -> typing.AsyncGenerator:
        s = self.SETTINGS
        await asyncio.sleep(s.start_delay)
        t0 = round(time.time(), 3)
        for k in range(s.messages):
            data = (np.arange(200, dtype=np.int64).reshape(50, 4) * 37 + k * 1000 - 30000).astype(np.int16)
            offset = np.float64(t0 + k * 0.1)
            msg = AxisArray(data, dims=["time", "ch"], axes={"time": LinearAxis(unit="s", gain=0.002, offset=offset)},
                            attrs={"seq": k, "units": "uV", "scale": 0.195}, key="I16")
            yield self.OUTPUT_SIGNAL, msg
            emit({"event": "sent", "unit": "I16", "run": s.run, "seq": k, "shape": list(data.shape), "dtype": data.dtype.str,
                  "sha256": hashlib.sha256(data.tobytes()).hexdigest(), "offset": float(offset), "gain": 0.002, "labels": None})
            await asyncio.sleep(s.interval)
        emit({"event": "done", "unit": "I16"})
        while True:  # idle: a finished publisher generator would close the stream (ezmsg 3.9)
            await asyncio.sleep(1.0)


class Streams(ez.Collection):
    SIG = Sig()
    I16 = I16()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph-address", required=True)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--start-delay", type=float, default=1.0)
    parser.add_argument("--run", default="run1")
    args = parser.parse_args()
    host, port = args.graph_address.split(":")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = StreamSettings(messages=args.messages, interval=args.interval, start_delay=args.start_delay, run=args.run)
    system = Streams()
    system.SIG.apply_settings(settings)
    system.I16.apply_settings(settings)
    runner = ez.GraphRunner(components={"STREAMS": system}, graph_address=(host, int(port)))
    runner.start()
    try:
        emit({"event": "started"})
        while not stop.wait(0.1):
            pass
    finally:
        runner.stop()
    emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
