"""Capture what ezmsg 3.9's own `GraphContext.update_setting` puts on the wire, as test fixtures for
restore's native writer (test/unit/ezmsg/update-setting-wire.test.ts).

Usage:
    python test/interop/capture_update_setting.py OUT_DIR

Starts a GraphServer on a free port, runs test/interop/ezmsg_restore_pipeline.py against it (no
changes: its go-file never appears), and puts a recording TCP proxy between a Python GraphContext
and the server. Then, through the proxy:

    ok           update_setting("RIG/FILT", "spec.order", 9)          -> ok, payload = SettingsSnapshotValue
    ok_tuple     update_setting("RIG/FILT", "taps", (0.5, 2**70))      -> ok
    collection   update_setting("RIG", "x", 1)                         -> UNROUTABLE_UNIT
    no_field     update_setting("RIG/FILT", "nope", 1.5)               -> HANDLER_ERROR

For each, OUT_DIR/<name>.request.bin is the exact SESSION_PROCESS_REQUEST the client sent (0x20,
unit, operation, timeout, u64 length, pickled SettingsFieldUpdateRequest) and
<name>.reply.bin the exact reply (u64 length, pickled ProcessControlResponse, 0x00).
OUT_DIR/update_setting.json describes them (arguments, Python's view of the reply).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("EZMSG_ALLOW_LOCAL", "0")

import ezmsg.core as ez  # noqa: E402
from ezmsg.core.graphserver import GraphServer  # noqa: E402

HERE = Path(__file__).resolve().parent


class Recorder:
    """A TCP proxy that records each connection's client->server and server->client bytes."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.tx = bytearray()
        self.rx = bytearray()
        self.port = 0
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ur, uw = await asyncio.open_connection(*self.upstream)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bytearray) -> None:
                while data := await src.read(65536):
                    log.extend(data)
                    dst.write(data)
                    await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, uw, self.tx), pipe(ur, writer, self.rx), return_exceptions=True)

        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await server.serve_forever()

        self.loop.run_until_complete(main())


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    server = GraphServer()
    server.start(("127.0.0.1", 0))
    host, port = server.address
    pipeline = subprocess.Popen(
        [sys.executable, "-u", str(HERE / "ezmsg_restore_pipeline.py"), "--graph-address", f"{host}:{port}",
         "--go-file", str(out / "never")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        for line in pipeline.stdout:  # type: ignore[union-attr]
            if '"ready"' in line:
                break
        proxy = Recorder((host, port))
        calls = [
            ("ok", "RIG/FILT", "spec.order", 9),
            ("ok_tuple", "RIG/FILT", "taps", (0.5, 2**70)),
            ("collection", "RIG", "x", 1),
            ("no_field", "RIG/FILT", "nope", 1.5),
        ]
        described = []

        async def run() -> None:
            async with ez.GraphContext(("127.0.0.1", proxy.port), auto_start=False) as ctx:
                for name, unit, field, value in calls:
                    time.sleep(0.2)
                    tx0, rx0 = len(proxy.tx), len(proxy.rx)
                    resp = await ctx.process_request(
                        unit, "UPDATE_SETTING_FIELD",
                        payload_obj=__import__("ezmsg.core.graphmeta", fromlist=["x"]).SettingsFieldUpdateRequest(field, value),
                        timeout=2.0,
                    )
                    await asyncio.sleep(0.2)
                    (out / f"{name}.request.bin").write_bytes(bytes(proxy.tx[tx0:]))
                    (out / f"{name}.reply.bin").write_bytes(bytes(proxy.rx[rx0:]))
                    payload = pickle.loads(resp.payload) if resp.payload else None
                    described.append({
                        "name": name, "unit": unit, "field_path": field, "value": repr(value), "timeout": "2.0",
                        "ok": resp.ok, "error_code": resp.error_code.value if resp.error_code else None, "error": resp.error,
                        "structured_value": getattr(payload, "structured_value", None),
                    })

        asyncio.run(run())
        (out / "update_setting.json").write_text(json.dumps({"ezmsg_version": ez.__version__, "calls": described}, indent=1, ensure_ascii=False) + "\n")
    finally:
        pipeline.terminate()
        pipeline.wait(10)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
