"""Put hostile settings into a real ezmsg 3.9 GraphServer, the way ezmsg's backend registers a
pipeline's components: GraphContext.register_metadata with `initial_settings =
(pickle.dumps(settings), settings_repr_value(settings))` (ezmsg.core.backend._settings_snapshot).
Each case is one component in its own session; a canary component (its own session, registered
again with {"i": n} after every case) brackets every case.

    python test/conformance/ezmsg_hostile_publisher.py PORT PLAN.py GO_FILE

PLAN.py defines `STARTUP` and `LIVE`: lists of (name, component address, settings object).
STARTUP cases are registered at once; then the script prints {"event": "ready"} and waits (at
most 60 s) for GO_FILE to exist before the LIVE cases.

stdout, one JSON line each (json.dumps: NaN/Infinity tokens, exact ints, surrogates escaped):
    {"event": "case", "name": ..., "component": ..., "seq": s, "value": settings_repr_value(...)}
        (or "value_sha256": SHA-256 of json.dumps(value, ensure_ascii=False) in UTF-8 when that is long)
    {"event": "canary", "i": n, "seq": s}
    {"event": "ready"} / {"event": "done", "last_seq": s}
Keeps every session open until SIGTERM/SIGINT, then prints {"event": "stopped"}.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pickle
import signal
import sys
import time

sys.setrecursionlimit(20000)  # json.dumps of deep values for the test

import ezmsg.core as ez  # noqa: E402
from ezmsg.core.graphmeta import ComponentMetadata, DynamicSettingsMetadata, GraphMetadata  # noqa: E402
from ezmsg.core.settingsmeta import settings_repr_value  # noqa: E402


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def metadata(address: str, settings: object) -> GraphMetadata:
    try:
        pickled = pickle.dumps(settings)
    except Exception:  # noqa: BLE001 — as ezmsg's backend: no serialized form then
        pickled = None
    comp = ComponentMetadata(
        address=address, name=address.rsplit("/", 1)[-1], component_type="hostile.Case", settings_type=type(settings).__name__,
        initial_settings=(pickled, settings_repr_value(settings)),
        dynamic_settings=DynamicSettingsMetadata(enabled=False, input_topic=None, settings_type=None),
        settings_schema=None,
    )
    return GraphMetadata(schema_version=1, root_name=None, components={address: comp})


async def seq_of(ctx: ez.GraphContext, address: str, after: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for ev in await ctx.settings_events(after):
            if ev.component_address == address and ev.event_type.value == "INITIAL_SETTINGS":
                return ev.seq
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no INITIAL_SETTINGS for {address!r} after seq {after}")


async def main(port: int, plan_path: str, go: str) -> None:
    plan: dict = {}
    exec(compile(open(plan_path).read(), plan_path, "exec"), plan)
    address = ("127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sessions: list[ez.GraphContext] = []

    async def session() -> ez.GraphContext:
        ctx = ez.GraphContext(address, auto_start=False)
        await ctx.__aenter__()
        sessions.append(ctx)
        return ctx

    canary = await session()
    last = 0
    n = 0

    async def tick() -> None:
        nonlocal last, n
        await canary.register_metadata(metadata("canary", {"i": n}))
        last = await seq_of(canary, "canary", last)
        emit({"event": "canary", "i": n, "seq": last})
        n += 1

    async def case(name: str, comp: str, settings: object) -> None:
        nonlocal last
        ctx = await session()
        await ctx.register_metadata(metadata(comp, settings))
        last = await seq_of(ctx, comp, last)
        value = settings_repr_value(settings)
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > 20000:  # keep stdout small: the test compares a digest
            emit({"event": "case", "name": name, "component": comp, "seq": last,
                  "value_sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()})
        else:
            emit({"event": "case", "name": name, "component": comp, "seq": last, "value": value})

    await tick()
    for name, comp, settings in plan["STARTUP"]:
        await case(name, comp, settings)
        await tick()
    emit({"event": "ready"})
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline or stop.is_set():
            raise TimeoutError("no go")
        await asyncio.sleep(0.02)
    for name, comp, settings in plan["LIVE"]:
        await case(name, comp, settings)
        await tick()
    emit({"event": "done", "last_seq": last})
    await stop.wait()
    for ctx in reversed(sessions):
        try:
            await asyncio.wait_for(ctx.__aexit__(None, None, None), 5)
        except Exception:  # noqa: BLE001
            pass
    emit({"event": "stopped"})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
