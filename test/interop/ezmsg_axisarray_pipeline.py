"""A real ezmsg pipeline publishing AxisArray sample streams, logging exactly what it sent.

Usage:
    python test/interop/ezmsg_axisarray_pipeline.py --graph-address HOST:PORT
        [--messages N] [--interval SECONDS] [--start-delay SECONDS] [--run NAME]
        [--change-at K]

Units (collection "STREAMS"), each publishing N messages after the start delay, then idling (a
publisher whose generator returns is closed by ezmsg, which would end the stream early):
    STREAMS/SIG  OUTPUT_SIGNAL  float32 (100, 8), dims [time, ch], LinearAxis 1 kHz (offset a
                 Unix-time float), CoordinateAxis ch labels Ch00..Ch07, attrs {"seq": k}
    STREAMS/I16  OUTPUT_SIGNAL  int16 (50, 4), 500 Hz, offset a numpy float64, no labels,
                 attrs {"seq": k, "units": "uV", "scale": 0.195}
stdout is JSON lines: {"event": "started"}; one {"event": "sent", "unit", "seq", "shape", "dtype",
"sha256" (of the C-order data bytes), "offset", "gain", "labels", "sent_at" (time.time() after the
publish returned)} per message, printed right after the message was published; {"event": "done", "unit"} per unit; {"event": "stopped"} on
SIGTERM/SIGINT after the pipeline shut down (exit 0).
--change-at K: after about K messages' time, the setting STREAMS/SIG `scale` is changed from 1.0 to
2.0 with GraphContext.update_setting (SIG multiplies its samples by it from the next message on), and
{"event": "setting", "seq", "timestamp", "component", "value"} is printed with the server's event.
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

import os

os.environ.setdefault("EZMSG_ALLOW_LOCAL", "0")  # see ezmsg_pipeline.py: field patches need it

import ezmsg.core as ez  # noqa: E402
import numpy as np
from ezmsg.util.messages.axisarray import AxisArray, CoordinateAxis, LinearAxis


def emit(obj: dict) -> None:
    # One write() per line: the unit processes and this one share stdout, and a line under
    # PIPE_BUF (4096 bytes) written at once is never interleaved with another process's.
    os.write(1, (json.dumps(obj) + "\n").encode())


class StreamSettings(ez.Settings):
    messages: int = 20
    interval: float = 0.05
    start_delay: float = 1.0
    run: str = "run1"
    scale: float = 1.0


class Sig(ez.Unit):
    SETTINGS = StreamSettings
    INPUT_SETTINGS = ez.InputStream(StreamSettings)
    OUTPUT_SIGNAL = ez.OutputStream(AxisArray)

    @ez.subscriber(INPUT_SETTINGS)
    async def on_settings(self, msg: StreamSettings) -> None:
        self.apply_settings(msg)

    @ez.publisher(OUTPUT_SIGNAL)
    async def pub(self) -> typing.AsyncGenerator:
        s = self.SETTINGS
        await asyncio.sleep(s.start_delay)
        t0 = round(time.time(), 3)
        labels = np.array([f"Ch{i:02d}" for i in range(8)])
        rng = np.random.default_rng(1 if s.run == "run1" else 2)
        for k in range(s.messages):
            data = (rng.standard_normal((100, 8)) * self.SETTINGS.scale).astype(np.float32)
            offset = t0 + k * 0.1
            msg = AxisArray(data, dims=["time", "ch"],
                            axes={"time": LinearAxis(unit="s", gain=0.001, offset=offset),
                                  "ch": CoordinateAxis(data=labels, dims=["ch"])},
                            attrs={"seq": k}, key="SIG")
            yield self.OUTPUT_SIGNAL, msg
            emit({"event": "sent", "unit": "SIG", "run": s.run, "seq": k, "shape": list(data.shape), "dtype": data.dtype.str,
                  "sha256": hashlib.sha256(data.tobytes()).hexdigest(), "offset": offset, "gain": 0.001,
                  "labels": labels.tolist(), "scale": self.SETTINGS.scale, "sent_at": time.time()})
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
                  "sha256": hashlib.sha256(data.tobytes()).hexdigest(), "offset": float(offset), "gain": 0.002, "labels": None,
                  "sent_at": time.time()})
            await asyncio.sleep(s.interval)
        emit({"event": "done", "unit": "I16"})
        while True:  # idle: a finished publisher generator would close the stream (ezmsg 3.9)
            await asyncio.sleep(1.0)


class Streams(ez.Collection):
    SIG = Sig()
    I16 = I16()


async def change_setting(address: tuple[str, int], after: float, stop: threading.Event) -> None:
    async with ez.GraphContext(address, auto_start=False) as ctx:
        last = max((e.seq for e in await ctx.settings_events(0)), default=0)
        await asyncio.sleep(after)
        await ctx.update_setting("STREAMS/SIG", "scale", 2.0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for e in await ctx.settings_events(last):
                if e.component_address == "STREAMS/SIG" and e.event_type.value == "SETTINGS_UPDATED":
                    emit({"event": "setting", "seq": e.seq, "timestamp": e.timestamp, "component": e.component_address, "value": 2.0})
                    return
            await asyncio.sleep(0.01)
        emit({"event": "setting_lost"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph-address", required=True)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--start-delay", type=float, default=1.0)
    parser.add_argument("--run", default="run1")
    parser.add_argument("--change-at", type=int, default=-1)
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
        if args.change_at >= 0:
            # units run in their own processes: change after about K messages' time
            asyncio.run(change_setting((host, int(port)), args.start_delay + args.change_at * (args.interval + 0.003), stop))
        while not stop.wait(0.1):
            pass
    finally:
        runner.stop()
    emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
