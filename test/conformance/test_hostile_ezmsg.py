"""Hostile input at the native ezmsg client while `record` runs (#5), checked with pynwb.

(a) A real ezmsg 3.9 GraphServer holds hostile settings, registered the way ezmsg's backend
    registers a pipeline's components (test/conformance/ezmsg_hostile_publisher.py: pickle +
    `settings_repr_value`, so ezmsg's own sanitizing applies): NaN/±inf, ints past int64, a 10 MB
    string, 150- and 400-deep nesting (ezmsg's GraphServer itself fails near 500), keys with `/`, `.`, spaces or nothing, colliding keys and
    component addresses, non-dict settings, non-str keys, bytes, sets, lone surrogates, NUL. Some
    are in the GraphServer before `record` starts (startup snapshot and history), the rest arrive
    live; a canary component changes after every case. Each case is in the file exactly as ezmsg
    stored it (JSON-row sink, strictly typed) or the recorder refused it with
    `error: event seq N of "COMPONENT" not written: ...`; every canary is in the file exactly once.
(b) A fake GraphServer (ours, asyncio, ezmsg's framing; pickles made with ezmsg's own classes)
    sends good events, then a truncated pickle, then (after the reconnect) a garbage frame: the
    recorder logs a clear error naming the subscription and the problem, reconnects, resumes from
    history, and every event is in the file exactly once.

127.0.0.1 only; every wait bounded; child process groups killed in the finalizers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import pickle
import re
import signal
import struct
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import META, REPO
from expected import json_diff
from liverec import PYTHON, Child, start_graph_server, start_record, wait_journal
from segments import read_recording

PUBLISHER = REPO / "test" / "conformance" / "ezmsg_hostile_publisher.py"
ACCEPT = "accept"

PLAN = r'''
import math
def nested(n, leaf=1):
    v = leaf
    for _ in range(n):
        v = {"a": v}
    return v
def nested_list(n, leaf=1):
    v = leaf
    for _ in range(n):
        v = [v]
    return v
STARTUP = [
    ("NaN, infinities and -0.0 (startup)", "S/NAN", {"n": math.nan, "p": math.inf, "m": -math.inf, "z": -0.0, "f": 2.0}),
    ("150-deep mapping (startup)", "S/DEEP", nested(150)),
    ("lone surrogate (startup)", "S/SURR", {"s": "\ud800x"}),
]
LIVE = [
    ("ints past int64", "L/INT", {"a": 2**63, "b": -(2**63) - 1, "c": 10**300, "d": 2**63 - 1}),
    ("10 MB string", "L/BIG", {"s": "é" * (5 * 1024 * 1024)}),
    ("150-deep mapping", "L/DEEP150", nested(150)),
    # ezmsg 3.9's GraphServer itself fails at ~500 levels (RecursionError pickling its
    # settings_events reply, for every client, as long as the event is in its history)
    ("400-deep mapping", "L/DEEP400", nested(400)),
    ("400-deep list", "L/LIST400", {"l": nested_list(400)}),
    ("keys with / . spaces and empty", "L/KEYS", {"a/b": 1, "a.b": 2, "a b": 3, "": 4, ".": 5}),
    ("keys colliding after joining", "L/JOIN", {"a": {"b": 1}, "a.b": 2}),
    ("component + key colliding", "COL/a", {"b.c": 1}),
    ("component + key colliding (second)", "COL/a.b", {"c": 2}),
    ("address with / . and spaces", "SYS/a.b c/", {"x": 1}),
    ("settings: an int (repr text)", "L/INT5", 5),
    ("settings: a range (repr text)", "L/RANGE", range(3)),
    ("non-str keys", "L/NSK", {1: "x", (1, 2): "y", None: 3, 2.5: 4}),
    ("bytes and a set", "L/BYTES", {"b": b"\x00\xff", "s": {3, 1, 2}}),
    ("lone surrogate", "L/SURR", {"s": "\udc00"}),
    ("NUL in a value", "L/NUL", {"s": "a\x00b"}),
    ("empty address", "", {"x": 7}),
]
'''

# what must happen with --sinks annotations,table (default: written exactly)
OUTCOME = {
    "S/SURR": r"lone UTF-16 surrogate",
    "L/SURR": r"lone UTF-16 surrogate",
    "L/NUL": r"NUL character",
}


def refusals(stderr: str) -> dict[str, tuple[int, str]]:
    out = {}
    for m in re.finditer(r'error: event seq (\d+) of ("(?:[^"\\]|\\.)*") not written: ([^\n]*)', stderr):
        out[json.loads(m.group(2))] = (int(m.group(1)), m.group(3))
    return out


def read_segments(out: Path) -> tuple[list[Path], dict[str, list[dict]], set[str], dict[str, list]]:
    rec = read_recording(out)
    assert rec.invalid == {}, rec.invalid  # pynwb validation of every segment
    return rec.segments, rec.by_component(), set(rec.table_components), rec.columns



@pytest.fixture(scope="module", autouse=True)
def deep_json():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    yield
    sys.setrecursionlimit(old)


def test_hostile_settings_from_a_real_graphserver(tmp_path: Path, children: list[Child]) -> None:
    server, port = start_graph_server()
    children.append(server)
    plan = tmp_path / "plan.py"
    plan.write_text(PLAN)
    go = tmp_path / "go"
    pub = Child("hostile ezmsg publisher", [PYTHON, "-u", str(PUBLISHER), str(port), str(plan), str(go)])
    children.append(pub)
    pub.wait_event("ready", 30)

    out = tmp_path / "ezmsg.nwb"
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", out, "--sinks", "annotations,table", "--meta", META,
                       "--flush-interval", "200")
    children.append(rec)
    rec.wait_stderr(r"startup snapshot done; live after seq (\d+)", 20)
    go.write_text("go")
    done = pub.wait_event("done", 40)
    wait_journal(out, done["last_seq"], 20, rec)
    rec.send(signal.SIGINT)
    rc = rec.wait(20)
    assert rc == 0, rec.describe()

    cases = [e for e in pub.events if e["event"] == "case"]
    canaries = [e for e in pub.events if e["event"] == "canary"]
    refused = refusals(rec.stderr)
    segments, by_comp, table_comps, columns = read_segments(out)
    failures = []
    for c in cases:
        comp, want = c["component"], OUTCOME.get(c["component"], ACCEPT)
        mine = by_comp.get(comp, [])
        if want == ACCEPT:
            if comp in refused:
                failures.append(f"{c['name']}: refused: {refused[comp]}")
            elif [r["seq"] for r in mine] != [c["seq"]]:
                failures.append(f"{c['name']}: rows with seqs {[r['seq'] for r in mine]}, expected [{c['seq']}]")
            elif "value_sha256" in c:
                text = json.dumps(mine[0]["settings"], ensure_ascii=False).encode("utf-8", "surrogatepass")
                if hashlib.sha256(text).hexdigest() != c["value_sha256"]:
                    failures.append(f"{c['name']}: stored settings differ (digest)")
            else:
                d = json_diff(mine[0]["settings"], c["value"])
                if d:
                    failures.append(f"{c['name']}: stored settings differ: {d[:3]}")
            if comp.startswith("S/"):  # the startup snapshot is merged into the __init_final__ first row
                prefix = comp.replace("/", ".") + "."
                if not any(col.startswith(prefix) for col in columns):
                    failures.append(f"{c['name']}: no table column {prefix}*")
            elif c.get("value") != {} and comp not in table_comps:
                failures.append(f"{c['name']}: no table row for {comp!r}")
        else:
            r = refused.get(comp)
            if r is None or r[0] != c["seq"] or not re.search(want, r[1]):
                failures.append(f"{c['name']}: expected a refusal of seq {c['seq']} matching /{want}/, got {r}")
            if mine or comp in table_comps:
                failures.append(f"{c['name']}: refused but written")
    for comp in set(refused) - set(OUTCOME):
        failures.append(f"unexpected refusal of {comp!r}: {refused[comp]}")
    got_canary = [(r["seq"], r["settings"]) for r in by_comp.get("canary", [])]
    want_canary = [(e["seq"], {"i": e["i"]}) for e in canaries]
    # the startup snapshot holds only the canary's latest value (seq of its last registration)
    n_startup = next(i for i, e in enumerate(pub.events) if e["event"] == "ready")
    startup_canaries = [e for e in pub.events[:n_startup] if e["event"] == "canary"]
    want_canary = [(startup_canaries[-1]["seq"], {"i": startup_canaries[-1]["i"]})] + want_canary[len(startup_canaries):]
    if got_canary != want_canary:
        failures.append(f"canary rows differ:\n got {got_canary}\n want {want_canary}")
    for name, want in (("L.JOIN.a.b", 1), ("L.JOIN.a.b__2", 2), ("COL.a.b.c", 1), ("COL.a.b.c__2", 2)):
        if want not in columns.get(name, []):
            failures.append(f"column {name}: {want!r} not among {columns.get(name)}")
    assert not failures, "\n".join(failures) + "\n" + rec.describe()[-5000:]
    assert "stopped (SIGINT)" in rec.stdout


# --------------------------------------------------------------------------------------------------
# (b) a fake GraphServer that corrupts its subscription stream
# --------------------------------------------------------------------------------------------------

COMPLETE = b"\x00"


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def wire_str(s: str) -> bytes:
    b = s.encode("utf-8")
    return u64(len(b)) + b


class FakeGraphServer:
    """ezmsg 3.9's session and settings-subscription framing (docs/ezmsg-client.md, wire.ts) on
    127.0.0.1, in a thread. Replies are real ezmsg objects pickled by Python, as the real server
    sends them. `publish()` appends an event to the history and pushes it to live subscribers;
    `corrupt(frame)` writes raw bytes to every live subscription and closes it."""

    def __init__(self) -> None:
        from ezmsg.core.graphmeta import SettingsChangedEvent, SettingsEventType, SettingsSnapshotValue

        self.Ev, self.Type, self.Val = SettingsChangedEvent, SettingsEventType, SettingsSnapshotValue
        self.history: list[Any] = []
        self.current: dict[str, Any] = {}
        self.subs: list[asyncio.StreamWriter] = []
        self.subscribes = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def call(self, fn, *args) -> Any:
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def publish(self, component: str, settings: dict, initial: bool = False) -> int:
        def do() -> int:
            seq = len(self.history) + 1
            value = self.Val(serialized=None, repr_value=settings, structured_value=settings)
            ev = self.Ev(seq=seq, event_type=self.Type.INITIAL_SETTINGS if initial else self.Type.SETTINGS_UPDATED,
                         component_address=component, timestamp=time.time(), source_session_id="fake",
                         source_process_id=None, value=value)
            self.history.append(ev)
            self.current[component] = value
            frame = pickle.dumps(ev)
            for w in self.subs:
                w.write(u64(len(frame)) + frame)
            return seq
        return self.call(do)

    def corrupt(self, data: bytes) -> int:
        def do() -> int:
            n = len(self.subs)
            for w in self.subs:
                w.write(data)
                w.close()
            self.subs.clear()
            return n
        return self.call(do)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def read_str() -> str:
            n = struct.unpack("<Q", await reader.readexactly(8))[0]
            return (await reader.readexactly(n)).decode()

        def reply(obj: Any) -> None:
            b = pickle.dumps(obj)
            writer.write(u64(len(b)) + b + COMPLETE)

        try:
            writer.write(wire_str("3.9.0"))
            cmd = (await reader.readexactly(1))[0]
            if cmd == 0x1D:  # SESSION_SETTINGS_SUBSCRIBE
                after = int(await read_str())
                writer.write(wire_str(str(uuid.uuid4())) + COMPLETE)
                self.subscribes += 1
                for ev in self.history:
                    if ev.seq > after:
                        b = pickle.dumps(ev)
                        writer.write(u64(len(b)) + b)
                self.subs.append(writer)
                await reader.read()  # until the client goes
                return
            if cmd != 0x15:  # SESSION
                return
            writer.write(wire_str(str(uuid.uuid4())) + COMPLETE)
            while True:
                cmd = (await reader.readexactly(1))[0]
                if cmd == 0x1B:  # SESSION_SETTINGS_SNAPSHOT
                    reply(dict(sorted(self.current.items())))
                elif cmd == 0x1C:  # SESSION_SETTINGS_EVENTS
                    after = int(await read_str())
                    reply([ev for ev in self.history if ev.seq > after])
                elif cmd == 0x18:  # SESSION_CLEAR
                    writer.write(COMPLETE)
                else:
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self.subs:
                self.subs.remove(writer)
            writer.close()

    def close(self) -> None:
        def do() -> None:
            self.server.close()
            for w in self.subs:
                w.transport.abort()
        try:
            self.call(do)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


RESUMED = r"resumed after seq (\d+); (\d+) missed event\(s\) recovered from history"


def test_truncated_and_garbage_frames_from_a_fake_graphserver(tmp_path: Path, children: list[Child]) -> None:
    fake = FakeGraphServer()
    try:
        expected: dict[int, tuple[str, str, dict]] = {}  # seq -> (component, event type, settings)
        for comp, settings, initial in (("A", {"x": 1}, True), ("B", {"y": "b"}, True), ("A", {"x": 2}, False)):
            fake.publish(comp, settings, initial)
        expected[3] = ("A", "INITIAL", {"x": 2})  # the startup snapshot: latest value, latest seq per address
        expected[2] = ("B", "INITIAL", {"y": "b"})
        out = tmp_path / "fake.nwb"
        rec = start_record("--source", f"ezmsg://127.0.0.1:{fake.port}", "--out", out, "--sinks", "annotations,table", "--meta", META,
                           "--flush-interval", "200")
        children.append(rec)
        rec.wait_stderr(r"startup snapshot done; live after seq 3", 20)
        i = 0

        def update(comp: str = "A") -> int:
            nonlocal i
            i += 1
            settings = {"x": 100 + i} if comp == "A" else {"y": f"b{i}"}
            seq = fake.publish(comp, settings)
            expected[seq] = (comp, "UPDATED", settings)
            return seq

        good = pickle.dumps(fake.history[-1])
        injections = [
            ("truncated pickle", u64(len(good) // 2) + good[: len(good) // 2], r"undecodable event frame \(truncated"),
            ("garbage frame", u64(16) + bytes(range(0xF0, 0x100)), r"undecodable event frame"),
            ("frame cut by EOF", u64(4096) + good[:100], r"settings subscription \(after_seq=\d+\) on ezmsg://127\.0\.0\.1:\d+: .*(end|clos)"),
        ]
        for n, (what, data, pattern) in enumerate(injections, start=1):
            update("A")
            seq = update("B")
            wait_journal(out, seq, 10, rec)
            subs = fake.subscribes
            assert fake.corrupt(data) == 1, what
            update("A")  # while the recorder is away: only in history
            line = rec.wait_stderr(r"warning: settings source ezmsg://[^\n]*connection lost after seq \d+: ([^\n]*)", 10, count=n).group(1)
            assert re.search(pattern, line), f"{what}: {line}"
            rec.wait_stderr(RESUMED, 15, count=n)
            deadline = time.monotonic() + 10
            while fake.subscribes == subs and time.monotonic() < deadline:
                time.sleep(0.02)
        last = update("B")
        wait_journal(out, last, 10, rec)
        rec.send(signal.SIGINT)
        assert rec.wait(20) == 0, rec.describe()
    finally:
        fake.close()

    assert rec.stderr.count("error") == 0, rec.describe()
    _, by_comp, table_comps, columns = read_segments(out)
    rows = sorted(((r["seq"], r["component"], r["event_type"], json.dumps(r["settings"])) for rs in by_comp.values() for r in rs))
    want = sorted((s, c, t, json.dumps(v)) for s, (c, t, v) in expected.items())
    assert rows == want, f"rows differ:\n got {rows}\n want {want}\n{rec.describe()}"
    assert sorted(set(columns["A.x"])) == sorted({v["x"] for c, _, v in expected.values() if c == "A"})
