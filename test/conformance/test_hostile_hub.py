"""Hostile input at the embedded hub while `record` runs (#5), checked with pynwb.

`nwb-settings record --source embedded --hub-port 0 --sinks annotations,table` runs; a raw
WebSocket client (test/conformance/hub_hostile_client.mjs) sends each case below byte for byte,
and a canary component (its own connection, the real HubPublisher) is updated after every case.
Each case must end one of these ways:

- ACCEPT: the hub acknowledged it and pynwb reads exactly the sent settings back from the JSON-row
  sink (strictly typed: 1 != 1.0, NaN == NaN, -0.0 != 0.0), and the typed table has the row;
- Reply(code, regex): the hub answered with an error of that code whose message matches, and
  nothing of it is in the file;
- Closed(code): the hub (ws) closed the hostile connection with that close code, nothing written;
- SinkReject(regex): the hub accepted it but the recorder refused the event with
  `error: event seq N of "COMPONENT" not written: ...` (the HDF5 table cannot hold it); nothing of
  it is in either sink (both sinks or none).

And always: every canary update is in the file exactly once, the recorder exits 0 on SIGINT with
the counts it printed, pynwb validation is clean. Column-name collisions get `__2` (docs/values.md).
"""

from __future__ import annotations

import base64
import json
import math
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import META, NODE, REPO
from expected import json_diff
from liverec import Child, start_record, wait_journal
from segments import read_recording

CLIENT = REPO / "test" / "conformance" / "hub_hostile_client.mjs"


@dataclass
class Accept:
    pass


@dataclass
class Reply:
    code: str
    pattern: str


@dataclass
class Closed:
    code: int
    pattern: str = ""


@dataclass
class SinkReject:
    pattern: str


ACCEPT = Accept()


def dumps(obj: Any) -> bytes:
    """Python's json.dumps (NaN/Infinity tokens, exact big ints, 1.0 stays 1.0) as UTF-8; a lone
    surrogate becomes its JSON escape (`\\ud800`), as json.dumps writes it."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "backslashreplace")


def nested(n: int, leaf: Any = 1) -> Any:
    v = leaf
    for _ in range(n):
        v = {"a": v}
    return v


def nested_list(n: int, leaf: Any = 1) -> Any:
    v = leaf
    for _ in range(n):
        v = [v]
    return v


class Case:
    """One hostile case: the raw messages and the expected outcome of the *last* one (earlier
    messages, e.g. a register before an update, must be acknowledged)."""

    def __init__(self, name: str, messages: list[bytes | tuple[bytes, bool]], outcome: Any, component: Optional[str] = None,
                 settings: Any = None) -> None:
        self.name = name
        self.messages = [m if isinstance(m, tuple) else (m, False) for m in messages]
        self.outcome = outcome
        self.component = component
        self.settings = settings


def reg(k: int, component: str, settings: Any, **extra: Any) -> bytes:
    return dumps({"type": "register", "id": k, "component": component, "settings": settings, **extra})


def accept(k: int, name: str, settings: Any, component: Optional[str] = None) -> Case:
    comp = component or f"H{k}"
    return Case(name, [reg(k, comp, settings)], ACCEPT, comp, settings)


def sink_reject(k: int, name: str, settings: Any, pattern: str) -> Case:
    comp = f"H{k}"
    return Case(name, [reg(k, comp, settings)], SinkReject(pattern), comp, settings)


def cases() -> list[Case]:
    c: list[Case] = []
    k = lambda: len(c) + 1  # noqa: E731 — request id and component number of the next case
    # --- framing and request shape: the publisher gets an error reply, the connection stays open
    c.append(Case("malformed JSON", [b'{"type": "register", "id": 1, "component": '], Reply("bad_json", r"malformed JSON")))
    c.append(Case("not an object", [b"[1, 2, 3]"], Reply("bad_request", r"must be a JSON object, got an array")))
    c.append(Case("missing id", [dumps({"type": "snapshot"})], Reply("bad_request", r'"id" must be a string or an integer, got missing')))
    c.append(Case("id a float", [dumps({"type": "snapshot", "id": 1.5})], Reply("bad_request", r'"id" must be a string or an integer')))
    c.append(Case("missing type", [dumps({"id": k()})], Reply("bad_request", r'"type" must be a string, got missing')))
    c.append(Case("unknown message type", [dumps({"type": "remove", "id": k(), "component": "X"})], Reply("unknown_type", r'unknown message type "remove"')))
    c.append(Case("missing component", [dumps({"type": "register", "id": k(), "settings": {"x": 1}})], Reply("bad_request", r'"component" must be a non-empty string, got missing')))
    c.append(Case("component a number", [dumps({"type": "register", "id": k(), "component": 5, "settings": {"x": 1}})], Reply("bad_request", r'"component" must be a non-empty string, got')))
    c.append(Case("empty component address", [reg(k(), "", {"x": 1})], Reply("bad_request", r'"component" must be a non-empty string, got an empty string')))
    c.append(Case("missing settings", [dumps({"type": "register", "id": k(), "component": f"H{k()}"})], Reply("bad_settings", r'"settings" must be a JSON object, got missing')))
    for what, v in (("a number", 5), ("a list", [1, "a", None]), ("text", "Settings(x=1)"), ("null", None)):
        c.append(Case(f"settings: {what}", [reg(k(), f"H{k()}", v)], Reply("bad_settings", r'"settings" must be a JSON object')))
    c.append(Case("repr a number", [reg(k(), f"H{k()}", {"x": 1}, repr=3)], Reply("bad_settings", r'"repr" must be a string or an object')))
    c.append(Case("session a number", [reg(k(), f"H{k()}", {"x": 1}, session=7)], Reply("bad_request", r'"session" must be a string or null')))
    c.append(Case("update of an unregistered component", [dumps({"type": "update", "id": k(), "component": "nobody", "settings": {"x": 1}})],
                  Reply("unknown_component", r"nobody")))
    c.append(Case("register an address another connection holds", [reg(k(), "canary", {"i": -1})], Reply("conflict", r"canary")))
    c.append(Case("after_seq past int64", [dumps({"type": "events", "id": k(), "after_seq": 2**64})], Reply("bad_request", r'"after_seq" must be a non-negative integer')))
    # binary messages are sample frames (docs/protocol.md, "Sample streams"): JSON sent as binary is a
    # frame of no declared stream; fewer bytes than a frame header are not a frame at all
    c.append(Case("binary message", [(reg(k(), f"H{k()}", {"x": 1}), True)], Reply("unknown_stream", r"no stream with handle \d+ declared on this connection")))
    c.append(Case("binary message shorter than a frame header", [(b"\x01\x02\x03", True)], Reply("bad_frame", r"not a sample frame \(16-byte header\)")))
    # --- bytes the WebSocket layer refuses: ws closes the connection (nothing to reply on)
    bad = reg(k(), f"H{k()}", {"s": "@@"})
    c.append(Case("invalid UTF-8 in a text message", [bad.replace(b"@@", b"\xff")], Closed(1007)))
    c.append(Case("CESU-8 surrogate bytes in a text message", [bad.replace(b"@@", "\ud800".encode("utf-8", "surrogatepass"))], Closed(1007)))
    c.append(Case("10 MB string (over max_message_bytes)", [reg(k(), f"H{k()}", {"s": "é" * (5 * 1024 * 1024)})], Closed(1009)))
    # --- values: written faithfully
    c.append(accept(k(), "NaN, infinities and -0.0", {"n": math.nan, "p": math.inf, "m": -math.inf, "z": -0.0, "f": 2.0}))
    c.append(accept(k(), "ints past int64", {"a": 2**63, "b": -(2**63) - 1, "c": 10**300, "d": 2**63 - 1}))
    c.append(accept(k(), "1,000-deep mapping", nested(998)))
    c.append(accept(k(), "1,000-deep list", {"l": nested_list(997)}))
    c.append(Case("2,000-deep mapping", [reg(k(), f"H{k()}", nested(1999))], Reply("bad_json", r"nesting deeper than 1024 levels")))
    c.append(accept(k(), "800 kB string (under the limit)", {"s": "é" * (400 * 1024)}))
    c.append(accept(k(), "address with / . and spaces", {"x": 1}, component="SYS/a.b c/"))
    c.append(accept(k(), "keys with / . spaces and empty", {"a/b": 1, "a.b": 2, "a b": 3, "": 4, ".": 5}))
    c.append(accept(k(), "keys colliding after joining", {"a": {"b": 1}, "a.b": 2}))
    c.append(accept(k(), "component + key colliding with another component", {"b.c": 1}, component="COL/a"))
    c.append(accept(k(), "component + key colliding (second)", {"c": 2}, component="COL/a.b"))
    c.append(accept(k(), "empty settings", {}))
    c.append(accept(k(), "non-ASCII and emoji keys", {"µV": 1.5, "😀": "naïve"}))
    dup = k()
    c.append(Case("duplicate key in an object", [f'{{"type": "register", "id": {dup}, "component": "H{dup}", "settings": {{"a": 1, "a": 2}}}}'.encode()],
                  Reply("bad_json", r'duplicate key "a"')))
    # --- values the HDF5 table cannot hold: the recorder refuses the whole event, says why
    c.append(sink_reject(k(), "lone surrogate (JSON escape)", {"s": "\ud800x"}, r"lone UTF-16 surrogate"))
    c.append(sink_reject(k(), "NUL in a value", {"s": "a\x00b"}, r"NUL character"))
    c.append(sink_reject(k(), "lone surrogate in a key", {"\udc00": 1}, r"lone UTF-16 surrogate"))
    return c


@pytest.fixture(scope="module")
def deep_json():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    yield
    sys.setrecursionlimit(old)


def test_hostile_hub_messages(tmp_path: Path, deep_json) -> None:
    table = cases()
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"cases": [
        {"name": c.name, "messages": [{"text_b64": base64.b64encode(m).decode(), "binary": b} for m, b in c.messages]} for c in table]}))
    out = tmp_path / "hostile.nwb"
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--sinks", "annotations,table", "--meta", META,
                       "--flush-interval", "200")
    pub = None
    try:
        url = rec.wait_stderr(r"recording the embedded hub at (ws://127\.0\.0\.1:\d+)", 20).group(1)
        rec.wait_stderr(r"startup snapshot done; live after seq 0", 20)
        pub = Child("hostile hub client", [NODE, str(CLIENT), url, str(plan)])
        done = pub.wait_event("done", 40)
        assert pub.wait(10) == 0, pub.describe()
        wait_journal(out, done["last_seq"], 15, rec)
        rec.send(signal.SIGINT)
        rc = rec.wait(20)
    finally:
        if pub is not None:
            pub.kill()
        rec.kill()
    assert rc == 0, rec.describe()

    # what the hub said, per case (the last message of each case decides)
    said: dict[int, dict] = {}
    seqs: dict[int, int] = {}
    failures: list[str] = []
    for e in pub.events:
        if e["event"] in ("reply", "closed"):
            if e["event"] == "reply":
                e["json"] = json.loads(e["text"])
            said[e["case"]] = e
    canaries = [e for e in pub.events if e["event"] == "canary"]
    assert [e["i"] for e in canaries] == list(range(len(table) + 1)), pub.describe()

    # what the recorder refused
    refused: dict[str, tuple[int, str]] = {}
    for m in re.finditer(r'error: event seq (\d+) of ("(?:[^"\\]|\\.)*") not written: ([^\n]*)', rec.stderr):
        refused[json.loads(m.group(2))] = (int(m.group(1)), m.group(3))

    # what is in the file (every segment: the table rotates on new columns, docs/table-sink.md)
    recording = read_recording(out)
    by_comp = recording.by_component()
    table_comps = recording.table_components
    columns = recording.columns

    for i, case in enumerate(table):
        got = said.get(i)
        if got is None:
            failures.append(f"{case.name}: no answer from the hub")
            continue
        o = case.outcome
        comp = case.component
        if isinstance(o, Reply):
            j = got.get("json") or {}
            if got["event"] != "reply" or j.get("type") != "error" or j.get("code") != o.code or not re.search(o.pattern, j.get("message", "")):
                failures.append(f"{case.name}: expected error {o.code} /{o.pattern}/, got {got.get('text', got)!r}"[:400])
        elif isinstance(o, Closed):
            if got["event"] != "closed" or got["code"] != o.code:
                failures.append(f"{case.name}: expected close {o.code}, got {str(got)[:300]}")
        else:
            j = got.get("json") or {}
            if j.get("type") != "registered":
                failures.append(f"{case.name}: expected the hub to accept it, got {got.get('text', got)!r}"[:400])
                continue
            seqs[i] = j["seq"]
            if isinstance(o, Accept):
                mine = by_comp.get(comp, [])
                if comp in refused:
                    failures.append(f"{case.name}: refused by the recorder: {refused[comp]}")
                elif len(mine) != 1:
                    failures.append(f"{case.name}: {len(mine)} JSON rows for {comp!r}")
                else:
                    d = json_diff(mine[0]["settings"], case.settings)
                    if d or mine[0]["seq"] != j["seq"] or mine[0]["event_type"] != "INITIAL":
                        failures.append(f"{case.name}: JSON row differs: {d[:3]} {mine[0]['seq']} vs {j['seq']}")
                if case.settings and comp not in table_comps:
                    failures.append(f"{case.name}: no table row opened by {comp!r}")
            elif isinstance(o, SinkReject):
                r = refused.get(comp)
                if r is None or r[0] != j["seq"] or not re.search(o.pattern, r[1]):
                    failures.append(f"{case.name}: expected the recorder to refuse seq {j['seq']} of {comp!r} /{o.pattern}/, got {r}")
                if comp in by_comp or comp in table_comps:
                    failures.append(f"{case.name}: refused but written")
        if isinstance(o, (Reply, Closed)) and comp is not None and (comp in by_comp or comp in table_comps):
            failures.append(f"{case.name}: rejected but written")
    # nothing else was refused
    expected_refusals = {c.component for c in table if isinstance(c.outcome, SinkReject)}
    for comp in set(refused) - expected_refusals:
        failures.append(f"unexpected refusal of {comp!r}: {refused[comp]}")

    # canaries: every acknowledged update exactly once, in order, values exact, in both sinks
    got_canary = [(r["seq"], r["settings"]) for r in by_comp.get("canary", [])]
    want_canary = [(e["seq"], {"i": e["i"]}) for e in canaries]
    if got_canary != want_canary:
        failures.append(f"canary rows differ:\n got {got_canary}\n want {want_canary}")
    if set(columns.get("canary.i", [])) != {e["i"] for e in canaries}:
        failures.append(f"table column canary.i holds {sorted(set(columns.get('canary.i', [])))}")

    # column names: the documented deterministic resolution of collisions (docs/values.md)
    k_join = next(i + 1 for i, c in enumerate(table) if c.name == "keys colliding after joining")
    for name, want in ((f"H{k_join}.a.b", 1), (f"H{k_join}.a.b__2", 2), ("COL.a.b.c", 1), ("COL.a.b.c__2", 2)):
        if want not in columns.get(name, []):
            failures.append(f"column {name}: {want!r} not among {columns.get(name)}")

    assert not failures, "\n".join(failures) + "\n" + rec.describe()[-4000:]
    n_ok = len(canaries) + sum(1 for c in table if isinstance(c.outcome, Accept))
    assert f"stopped (SIGINT): {n_ok} events recorded, {len(expected_refusals)} rejected" in rec.stdout, rec.describe()
    assert recording.invalid == {}, recording.invalid  # pynwb validation of every segment
