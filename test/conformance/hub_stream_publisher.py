"""Test publisher for test_hub_streams.py, in Python with aiohttp's WebSocket client: speaks the hub
protocol (docs/protocol.md, "Sample streams") from scratch, as any non-JS pipeline would.

    python hub_stream_publisher.py ws://127.0.0.1:PORT FRAMES

Registers HS/GAIN {"gain": 1.0}; declares `hs_f32` (float32, 8 labeled channels, 1000 Hz, uV) and
`hs_i16` (int16, 4 channels, explicit timestamps, uV, scale 0.195); sends FRAMES frames of each
(50 and 20 samples), changing HS/GAIN to 2.0 halfway (the float32 samples double from then on);
then ends both streams. stdout, one JSON line per action (the contract of hub_stream_publisher.mjs):
  {"event": "sent", "stream": ..., "k": i, "sha256": ..., "t0": ..., "timestamps": [...]}
  {"event": "setting", "seq": n, "timestamp": hub event time}
  {"event": "done"}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import sys
import time

import aiohttp
import numpy as np


async def main(url: str, frames: int) -> None:
    next_id = 0

    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=64 * 2**20) as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["type"] == "hello", hello

        async def request(**fields: object) -> dict:
            nonlocal next_id
            next_id += 1
            await ws.send_str(json.dumps({**fields, "id": next_id}))
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"unexpected {msg.type}: {msg.data!r}")
                reply = json.loads(msg.data)
                if reply.get("id") == next_id:
                    if reply["type"] == "error":
                        raise RuntimeError(reply["message"])
                    return reply

        def out(**o: object) -> None:
            print(json.dumps(o), flush=True)

        await request(type="register", component="HS/GAIN", settings={"gain": 1.0}, session="py")
        labels = [f"e{i}" for i in range(8)]
        f32 = (await request(type="declare_stream", stream="hs_f32", dtype="float32", channels=labels, rate=1000.0, unit="uV"))["handle"]
        i16 = (await request(type="declare_stream", stream="hs_i16", dtype="int16", channels=4, rate=None, unit="uV", scale=0.195))["handle"]
        rng = np.random.default_rng(7)
        t0 = time.time()
        gain = 1.0
        t_irregular = t0
        for k in range(frames):
            if k == frames // 2:
                gain = 2.0
                seq = (await request(type="update", component="HS/GAIN", settings={"gain": 2.0}))["seq"]
                ev = (await request(type="events", after_seq=seq - 1))["events"][0]
                out(event="setting", seq=seq, timestamp=ev["timestamp"])
            # float32, regular: every other frame says where it starts, the others continue (NaN)
            x = (rng.standard_normal((50, 8)) * 10 * gain).astype("<f4")
            start = t0 + k * 0.05
            header = struct.pack("<IId", f32, 50, start if k % 2 == 0 else float("nan"))
            await ws.send_bytes(header + x.tobytes())
            out(event="sent", stream="hs_f32", k=k, sha256=hashlib.sha256(x.tobytes()).hexdigest(), t0=start)
            # int16 with one timestamp per sample (irregular steps of 0.5–1.5 ms)
            y = rng.integers(-2000, 2000, size=(20, 4)).astype("<i2")
            steps = 0.0005 + rng.random(20) * 0.001
            ts = t_irregular + np.cumsum(steps)
            t_irregular = float(ts[-1])
            header = struct.pack("<IId", i16, 20, float(ts[0]))
            await ws.send_bytes(header + ts.astype("<f8").tobytes() + y.tobytes())
            out(event="sent", stream="hs_i16", k=k, sha256=hashlib.sha256(y.tobytes()).hexdigest(), timestamps=[float(t) for t in ts])
            await asyncio.sleep(0.01)
        await request(type="end_stream", handle=f32)
        await request(type="end_stream", handle=i16)
        out(event="done")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
