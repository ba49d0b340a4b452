"""Run a small ezmsg pipeline against an existing GraphServer and change its settings on a schedule.

Usage:
    python test/interop/ezmsg_pipeline.py --graph-address HOST:PORT
        [--updates N] [--interval SECONDS] [--start-delay SECONDS] [--mode full|field|mixed]

Pipeline (root collection "SYS"; every unit has dynamic settings via an INPUT_SETTINGS stream):
    SYS/TICK  Ticker  TickerSettings(rate_hz: float, label: str, burst: int)
    SYS/GAIN  Gain    GainSettings(gain: float, offset: int, mode: str, enabled: bool,
                                   taps: list[float], filter: FilterSpec(order: int,
                                   cutoff_hz: float, kind: str))   <- nested dataclass
    SYS/TICK/OUTPUT -> SYS/GAIN/INPUT

stdout is JSON lines (flushed one by one); logs go to stderr:
    {"event": "started", "session_id": "<uuid of the pipeline's GraphServer session>",
     "components": {"SYS": {...}, "SYS/GAIN": {...}, "SYS/TICK": {...}}}
        initial settings per component, as ezmsg's settings_structured_value() (what the server stores);
    {"event": "update", "index": i, "component": "SYS/GAIN", "seq": 9, "how": "update_settings",
     "value": {...}}
        one line per settings change made, printed after the server reported it as event `seq`
        (SETTINGS_UPDATED); `value` is the new settings_structured_value();
    {"event": "update_lost", "index": i, "component": ..., "how": ...}
        the server did not report the change within 5 s (not expected; the test should fail);
    {"event": "done", "updates": N, "last_seq": 12}
        all N changes were made; the pipeline keeps running until signalled;
    {"event": "stopped"}
        printed on SIGTERM/SIGINT after the pipeline shut down; exit status 0.

Values are chosen so a client must keep types straight: ints past 2**53, floats with integral values
(2.0), a non-ASCII str, bools, a list of floats and a nested dataclass. Python's json.dumps writes
2.0 as "2.0" and 3 as "3", so a lossless JSON reader can compare types too.

--mode full   (default) GraphContext.update_settings: publish a whole settings object on INPUT_SETTINGS;
--mode field  GraphContext.update_setting: a field patch routed to the owning process;
--mode mixed  alternate. EZMSG_ALLOW_LOCAL defaults to 0 here: with ezmsg 3.9's same-process
              fast path a field patch can be acknowledged but never delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
import threading
import time
import typing

os.environ.setdefault("EZMSG_ALLOW_LOCAL", "0")

import ezmsg.core as ez  # noqa: E402
from ezmsg.core.settingsmeta import settings_structured_value  # noqa: E402


@dataclasses.dataclass(frozen=True)
class FilterSpec:
    order: int = 4
    cutoff_hz: float = 30.0
    kind: str = "lowpass"


class GainSettings(ez.Settings):
    gain: float = 1.0
    offset: int = 0
    mode: str = "fast"
    enabled: bool = True
    taps: list[float] = dataclasses.field(default_factory=lambda: [0.25, 0.5, 0.25])
    filter: FilterSpec = dataclasses.field(default_factory=FilterSpec)


class TickerSettings(ez.Settings):
    rate_hz: float = 20.0
    label: str = "tick"
    burst: int = 1


class Ticker(ez.Unit):
    SETTINGS = TickerSettings
    INPUT_SETTINGS = ez.InputStream(TickerSettings)
    OUTPUT = ez.OutputStream(int)

    @ez.subscriber(INPUT_SETTINGS)
    async def on_settings(self, msg: TickerSettings) -> None:
        self.apply_settings(msg)

    @ez.publisher(OUTPUT)
    async def tick(self) -> typing.AsyncGenerator:
        n = 0
        while True:
            await asyncio.sleep(1.0 / max(self.SETTINGS.rate_hz, 0.1))
            n += 1
            yield self.OUTPUT, n


class Gain(ez.Unit):
    SETTINGS = GainSettings
    INPUT_SETTINGS = ez.InputStream(GainSettings)
    INPUT = ez.InputStream(int)

    @ez.subscriber(INPUT_SETTINGS)
    async def on_settings(self, msg: GainSettings) -> None:
        self.apply_settings(msg)

    @ez.subscriber(INPUT)
    async def on_input(self, msg: int) -> None:
        _ = msg * self.SETTINGS.gain + self.SETTINGS.offset


class DemoSystem(ez.Collection):
    TICK = Ticker()
    GAIN = Gain()

    def network(self) -> ez.NetworkDefinition:
        return ((self.TICK.OUTPUT, self.GAIN.INPUT),)


def new_settings(i: int) -> tuple[str, object, str, object]:
    """The i-th change: (component, new full settings, field path, field value)."""
    if i % 2 == 0:
        k = i // 2
        value = GainSettings(
            gain=2.0 if k == 0 else 1.5 + 0.25 * k,
            offset=2**60 + k,
            mode="slow" if k % 2 == 0 else "fast",
            enabled=k % 2 == 1,
            taps=[0.1 * (k + 1), 0.5, 1.0],
            filter=FilterSpec(order=2 + k, cutoff_hz=10.0 + k, kind="bandpass" if k % 2 == 0 else "lowpass"),
        )
        return "SYS/GAIN", value, "gain", value.gain
    k = i // 2
    value = TickerSettings(rate_hz=10.0 + k, label=f"µV-tick-{k}", burst=k + 2)
    return "SYS/TICK", value, "label", value.label


def emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


async def wait_for_channel(pub: typing.Any, timeout: float) -> None:
    # A fresh publisher has no subscriber channel yet; a message broadcast now would be lost.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(getattr(pub, "_channels", {})) > 0:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no subscriber connected to {pub.topic} within {timeout} s")


async def wait_for_event(ctx: ez.GraphContext, after_seq: int, component: str, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in await ctx.settings_events(after_seq):
            if ev.component_address == component and ev.event_type.value == "SETTINGS_UPDATED":
                return ev.seq
        await asyncio.sleep(0.02)
    return None


async def apply_updates(address: tuple[str, int], n: int, interval: float, start_delay: float, mode: str,
                        stop: threading.Event) -> None:
    async with ez.GraphContext(address, auto_start=False) as ctx:
        await asyncio.sleep(start_delay)
        pubs: dict[str, typing.Any] = {}
        if mode in ("full", "mixed"):
            for comp in ("SYS/TICK", "SYS/GAIN"):
                pubs[comp] = await ctx.publisher(await ctx.settings_input_topic(comp))
                await wait_for_channel(pubs[comp], 10.0)
        last_seq = max((ev.seq for ev in await ctx.settings_events(0)), default=0)
        for i in range(n):
            if stop.is_set():
                return
            if i > 0:
                await asyncio.sleep(interval)
            comp, value, field_path, field_value = new_settings(i)
            how = "update_settings" if mode == "full" or (mode == "mixed" and i % 2 == 0) else "update_setting"
            if how == "update_settings":
                await pubs[comp].broadcast(value)
            else:
                # A field patch only changes one field; report the value the unit now holds.
                result = await ctx.update_setting(comp, field_path, field_value)
                value = result.structured_value if result.structured_value is not None else value
            seq = await wait_for_event(ctx, last_seq, comp, 5.0)
            structured = value if isinstance(value, dict) else settings_structured_value(value)
            if seq is None:
                emit({"event": "update_lost", "index": i, "component": comp, "how": how})
                continue
            last_seq = seq
            emit({"event": "update", "index": i, "component": comp, "seq": seq, "how": how, "value": structured})
        emit({"event": "done", "updates": n, "last_seq": last_seq})
        for pub in pubs.values():
            pub.close()
            await pub.wait_closed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph-address", required=True, help="GraphServer address HOST:PORT")
    parser.add_argument("--updates", type=int, default=0, help="number of settings changes to make (default 0)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between changes (default 0.2)")
    parser.add_argument("--start-delay", type=float, default=0.0, help="seconds to wait before the first change")
    parser.add_argument("--mode", choices=("full", "field", "mixed"), default="full")
    args = parser.parse_args()
    host, port_text = args.graph_address.split(":")
    address = (host, int(port_text))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    system = DemoSystem()
    runner = ez.GraphRunner(components={"SYS": system}, graph_address=address)
    runner.start()
    try:
        ctx = getattr(runner, "_graph_context", None)
        session_id = str(getattr(ctx, "_session_id", "")) or None
        emit(
            {
                "event": "started",
                "session_id": session_id,
                "components": {
                    "SYS": settings_structured_value(system.SETTINGS),
                    "SYS/GAIN": settings_structured_value(system.GAIN.SETTINGS),
                    "SYS/TICK": settings_structured_value(system.TICK.SETTINGS),
                },
            }
        )
        if args.updates > 0:
            asyncio.run(apply_updates(address, args.updates, args.interval, args.start_delay, args.mode, stop))
        while not stop.wait(0.2):
            pass
    finally:
        runner.stop()
    emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
