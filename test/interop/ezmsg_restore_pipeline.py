"""An ezmsg 3.9 pipeline for the `restore` test: settings of every kind restore meets, changed on a
schedule, then left running so `nwb-settings restore` can put an earlier state back.

Usage:
    python test/interop/ezmsg_restore_pipeline.py --graph-address HOST:PORT [--interval S] [--go-file PATH]

Pipeline (root collection "RIG"; both units have dynamic settings via INPUT_SETTINGS):
    RIG/FILT  Filt  FiltSettings(gain: float, order: int, taps: tuple[float, ...], mode: Mode (an
                    Enum: not a plain value), label: str, enabled: bool, spec: Spec (a nested
                    dataclass), extra: dict[str, int], big: int)
    RIG/TICK  Tick  TickSettings(rate_hz: float, name: str)

Changes (whole objects published on INPUT_SETTINGS, as GraphContext.update_settings does), in order:
    0  RIG/FILT  mode SLOW -> FAST            (the only change of the enum)
    1  RIG/FILT  gain, order, taps, label, spec.cutoff_hz, extra, big
    2  RIG/TICK  rate_hz, name
    3  RIG/FILT  gain, order, taps, enabled, spec.order, spec.kind, extra
    4  RIG/TICK  rate_hz

The changes start once PATH exists (--go-file; the test creates it when the recorder is live),
else right away. stdout is JSON lines: {"event": "started"}, one {"event": "update", "index": i, "component": ...,
"seq": n, "value": <settings_structured_value>} per change once the GraphServer reported it, then
{"event": "done", "last_seq": n}; the pipeline then runs until SIGTERM/SIGINT ({"event": "stopped"}).
EZMSG_ALLOW_LOCAL defaults to 0 (see ezmsg_pipeline.py: with ezmsg 3.9's same-process fast path a
field patch can be acknowledged but never delivered).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import signal
import sys
import threading
import time
import typing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ezmsg_pipeline import emit, wait_for_channel, wait_for_event  # noqa: E402  (sets EZMSG_ALLOW_LOCAL=0)

import ezmsg.core as ez  # noqa: E402
from ezmsg.core.settingsmeta import settings_structured_value  # noqa: E402


class Mode(enum.Enum):
    SLOW = "slow"
    FAST = "fast"


@dataclasses.dataclass(frozen=True)
class Spec:
    order: int = 4
    cutoff_hz: float = 30.0
    kind: str = "lowpass"


class FiltSettings(ez.Settings):
    gain: float = 1.0
    order: int = 2
    taps: tuple = (0.25, 0.5, 0.25)
    mode: Mode = Mode.SLOW
    label: str = "raw"
    enabled: bool = True
    spec: Spec = dataclasses.field(default_factory=Spec)
    extra: dict = dataclasses.field(default_factory=lambda: {"a": 1})
    big: int = 2**60


class TickSettings(ez.Settings):
    rate_hz: float = 20.0
    name: str = "tick"


class Filt(ez.Unit):
    SETTINGS = FiltSettings
    INPUT_SETTINGS = ez.InputStream(FiltSettings)

    @ez.subscriber(INPUT_SETTINGS)
    async def on_settings(self, msg: FiltSettings) -> None:
        self.apply_settings(msg)


class Tick(ez.Unit):
    SETTINGS = TickSettings
    INPUT_SETTINGS = ez.InputStream(TickSettings)

    @ez.subscriber(INPUT_SETTINGS)
    async def on_settings(self, msg: TickSettings) -> None:
        self.apply_settings(msg)


class Rig(ez.Collection):
    FILT = Filt()
    TICK = Tick()


def changes() -> list[tuple[str, object]]:
    f0 = FiltSettings()
    f1 = dataclasses.replace(f0, mode=Mode.FAST)
    f2 = dataclasses.replace(
        f1, gain=2.0, order=5, taps=(0.1, 0.2), label="µV-2", spec=Spec(order=4, cutoff_hz=12.5, kind="lowpass"),
        extra={"a": 2, "b": 3}, big=2**60 + 7,
    )
    t1 = TickSettings(rate_hz=15.0, name="tick-b")
    f3 = dataclasses.replace(
        f2, gain=3.5, order=7, taps=(1.0,), enabled=False, spec=Spec(order=6, cutoff_hz=12.5, kind="bandpass"), extra={"z": 9},
    )
    t2 = dataclasses.replace(t1, rate_hz=40.0)
    return [("RIG/FILT", f1), ("RIG/FILT", f2), ("RIG/TICK", t1), ("RIG/FILT", f3), ("RIG/TICK", t2)]


async def apply_changes(address: tuple[str, int], interval: float, go_file: str | None, stop: threading.Event) -> None:
    async with ez.GraphContext(address, auto_start=False) as ctx:
        pubs: dict[str, typing.Any] = {}
        for comp in ("RIG/FILT", "RIG/TICK"):
            pubs[comp] = await ctx.publisher(await ctx.settings_input_topic(comp))
            await wait_for_channel(pubs[comp], 10.0)
        emit({"event": "ready"})
        deadline = time.monotonic() + 120
        while go_file is not None and not Path(go_file).exists():
            if stop.is_set() or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)
        last_seq = max((ev.seq for ev in await ctx.settings_events(0)), default=0)
        for i, (comp, value) in enumerate(changes()):
            if stop.is_set():
                return
            if i > 0:
                await asyncio.sleep(interval)
            await pubs[comp].broadcast(value)
            seq = await wait_for_event(ctx, last_seq, comp, 5.0)
            if seq is None:
                emit({"event": "update_lost", "index": i, "component": comp})
                continue
            last_seq = seq
            emit({"event": "update", "index": i, "component": comp, "seq": seq, "value": settings_structured_value(value)})
        emit({"event": "done", "last_seq": last_seq})
        for pub in pubs.values():
            pub.close()
            await pub.wait_closed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph-address", required=True, help="GraphServer address HOST:PORT")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between changes (default 0.3)")
    parser.add_argument("--go-file", default=None, help="wait until this file exists before the first change")
    args = parser.parse_args()
    host, port_text = args.graph_address.split(":")
    address = (host, int(port_text))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    runner = ez.GraphRunner(components={"RIG": Rig()}, graph_address=address)
    runner.start()
    try:
        emit({"event": "started"})
        asyncio.run(apply_changes(address, args.interval, args.go_file, stop))
        while not stop.wait(0.2):
            pass
    finally:
        runner.stop()
    emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
