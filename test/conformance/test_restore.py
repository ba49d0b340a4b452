"""End-to-end (#14): `nwb-settings restore FILE --at T --to ezmsg://` against a real ezmsg 3.9 pipeline
(and `--to ws://` into hub publishers, test_restore_into_hub_publishers).

A GraphServer and test/interop/ezmsg_restore_pipeline.py (floats, ints past 2**53, a tuple, an
Enum, a nested dataclass, a dict, text, a bool) run as children; the pipeline changes its settings
five times while `nwb-settings record` records it. Then, with the pipeline still running:

1. `--dry-run` at T_mid: the plan lists the differing fields; the GraphServer's history gets no
   new event and the pipeline's settings snapshot is unchanged.
2. restore at T0 (before any change): every differing plain field is set; the Enum field (changed
   by the pipeline, not a plain value) is reported as not settable and left alone; exit 1.
3. restore at T_mid: exit 0; the pipeline's own settings snapshot (read with ezmsg's Python
   GraphContext) equals the state the file says was in effect at T_mid, type for type, and the
   settings objects have their Python types back (tuple, nested dataclass, dict).
4. restore at T_mid again: nothing changes, everything matched.
5. after the pipeline is gone: every component is reported as not in the pipeline; exit 1.

"The state the file says" is computed here from the file as pynwb reads it (the last row per
component at or before T) and checked against what the pipeline printed — never from our code.
Wrong calls exit 2. 127.0.0.1 and free ports only; every child is killed in the finalizer.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pynwb import NWBHDF5IO

from conftest import META, NODE, Cli
from liverec import INTEROP, PYTHON, REPO, Child, server_history, start_graph_server, start_record, wait_journal



def same(a: Any, b: Any) -> bool:
    """Equal as Python values, type for type (1 != 1.0, True != 1), NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


_SNAPSHOT = """
import asyncio, io, json, pickle, sys
import ezmsg.core as ez

class Stub:
    def __init__(self, *args): self.args = list(args)
    def __setstate__(self, state): self.state = state

class Loader(pickle.Unpickler):
    # The pipeline's classes live in its __main__: stand-ins that keep the class name and state.
    def find_class(self, module, name):
        if module == "__main__":
            return type(name, (Stub,), {"qualname": f"{module}.{name}"})
        return super().find_class(module, name)

def typed(v):
    if isinstance(v, Stub):
        return {"class": v.qualname, "state": typed(getattr(v, "state", None)), "args": typed(getattr(v, "args", []))}
    if isinstance(v, tuple): return {"tuple": [typed(x) for x in v]}
    if isinstance(v, list): return [typed(x) for x in v]
    if isinstance(v, dict): return {"dict": [[typed(k), typed(x)] for k, x in v.items()]}
    if isinstance(v, float): return {"float": repr(v)}
    if isinstance(v, bool) or v is None or isinstance(v, str): return v
    if isinstance(v, int): return {"int": str(v)}
    return {"other": type(v).__name__, "repr": repr(v)}

async def main():
    async with ez.GraphContext(("127.0.0.1", int(sys.argv[1])), auto_start=False) as ctx:
        snap = await ctx.settings_snapshot()
    out = {}
    for addr, v in snap.items():
        obj = Loader(io.BytesIO(v.serialized)).load() if v.serialized is not None else None
        out[addr] = {"structured": v.structured_value, "object": typed(obj)}
    print(json.dumps(out))
asyncio.run(main())
"""


def pipeline_snapshot(port: int) -> dict[str, dict]:
    """address -> {"structured": structured_value, "object": the settings object, typed}: the
    pipeline's own settings as ezmsg's Python GraphContext.settings_snapshot() returns them."""
    p = subprocess.run([PYTHON, "-c", _SNAPSHOT, str(port)], capture_output=True, text=True, timeout=30, cwd=str(REPO))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def file_rows(path: Path) -> tuple[list[Path], list[tuple[float, dict]]]:
    """The recording's segments (`rig.nwb`, `rig_01.nwb`, …: the typed table rotates when a dict
    setting gets new keys) and the (time, row JSON) of their settings AnnotationSeries in order,
    read with pynwb."""
    segments = [path, *sorted(path.parent.glob(f"{path.stem}_*.nwb"))]
    rows: list[tuple[float, dict]] = []
    for seg in segments:
        with NWBHDF5IO(str(seg), "r", load_namespaces=True) as nwbio:
            series = nwbio.read().acquisition["settings_annotations"]
            rows += [(float(t), json.loads(d)) for t, d in zip(series.timestamps[:], series.data[:])]
    return segments, rows


def state_at(rows: list[tuple[float, dict]], t: float) -> dict[str, dict]:
    """The state the file says was in effect at t: each component's last row at or before t (the
    rows of all segments are in time order)."""
    out: dict[str, dict] = {}
    for time_, row in rows:
        if time_ <= t:
            out[row["component"]] = row["settings"]
    return out


def restore(cli: Cli, out: Path, t: float, port: int, *extra: str) -> tuple[Any, dict]:
    run = cli.run("restore", out, "--at", repr(t), "--to", f"ezmsg://127.0.0.1:{port}", "--format", "json", *extra)
    assert run.stdout.strip(), run.describe()
    return run, json.loads(run.stdout)


def fields(report: dict, component: str) -> dict[str, dict]:
    comp = next(c for c in report["components"] if c["component"] == component)
    return {f["path"]: f for f in comp["fields"]}


def test_restore_into_a_running_ezmsg_pipeline(tmp_path: Path, children: list[Child], cli: Cli) -> None:
    server, port = start_graph_server()
    children.append(server)
    go = tmp_path / "go"
    pipeline = Child(
        "ezmsg restore pipeline",
        [PYTHON, "-u", str(INTEROP / "ezmsg_restore_pipeline.py"), "--graph-address", f"127.0.0.1:{port}",
         "--interval", "0.3", "--go-file", str(go)],
    )
    children.append(pipeline)
    pipeline.wait_event("ready", 60)

    out = tmp_path / "rig.nwb"
    rec = start_record("--source", f"ezmsg://127.0.0.1:{port}", "--out", str(out), "--sinks", "annotations,table",
                       "--meta", str(META), "--flush-interval", "200")
    children.append(rec)
    live = rec.wait_stderr(r"startup snapshot done; live after seq (\d+)", 20)
    assert live.group(1) == "3", f"the recorder must be live before the first change\n{rec.describe()}"
    go.touch()
    done = pipeline.wait_event("done", 30)
    assert not [e for e in pipeline.events if e.get("event") == "update_lost"], pipeline.describe()
    wait_journal(out, done["last_seq"], 10, rec)
    rec.send(signal.SIGINT)
    assert rec.wait(20) == 0, rec.describe()

    # The file, read with pynwb, against what the pipeline printed for each change.
    segments, rows = file_rows(out)
    assert len(segments) >= 2, "the recording should span rotated segments (the dict setting changes its keys)"
    printed = {e["seq"]: e for e in pipeline.events if e.get("event") == "update"}
    assert sorted(printed) == [4, 5, 6, 7, 8]
    by_seq = {row["seq"]: (t, row) for t, row in rows}
    assert sorted(by_seq) == list(range(1, 9)), rows
    for seq, e in printed.items():
        assert by_seq[seq][1]["component"] == e["component"]
        assert same(by_seq[seq][1]["settings"], e["value"]), (seq, by_seq[seq][1]["settings"], e["value"])
    t = {seq: by_seq[seq][0] for seq in printed}
    t0 = t[4] / 2                      # the startup state
    t_mid = (t[6] + t[7]) / 2          # RIG/FILT as of change 1 (seq 5), RIG/TICK as of change 2 (seq 6)
    want_mid = state_at(rows, t_mid)
    want_0 = state_at(rows, t0)
    assert same(want_mid["RIG/FILT"], printed[5]["value"]) and same(want_mid["RIG/TICK"], printed[6]["value"])
    assert want_0["RIG/FILT"]["mode"] == "slow" and want_mid["RIG/FILT"]["mode"] == "fast"

    before = pipeline_snapshot(port)
    last_seq = max(server_history(port))

    # 1. dry run: the plan, and nothing sent.
    started = time.monotonic()
    run, report = restore(cli, out, t_mid, port, "--dry-run")
    dry_s = time.monotonic() - started
    assert run.returncode == 0, run.describe()
    assert report["dry_run"] is True and report["complete"] is True
    filt = fields(report, "RIG/FILT")
    assert {p for p, f in filt.items() if f["result"] == "planned"} == {"gain", "order", "taps", "enabled", "spec.order", "spec.kind", "extra"}
    assert {p for p, f in filt.items() if f["result"] == "matched"} == {"mode", "label", "spec.cutoff_hz", "big"}
    assert [(p, f["result"]) for p, f in fields(report, "RIG/TICK").items()] == [("rate_hz", "planned"), ("name", "matched")]
    assert report["counts"]["planned"] == 8 and report["counts"]["changed"] == 0
    assert max(server_history(port)) == last_seq, "a dry run must send nothing"
    assert pipeline_snapshot(port) == before
    # --at as a wall-clock date-time (the file's timestamps_reference_time + T_mid): the same plan.
    with NWBHDF5IO(str(out), "r") as nwbio:
        ref = nwbio.read().timestamps_reference_time
    iso = (ref + datetime.timedelta(seconds=t_mid)).isoformat()
    run = cli.run("restore", out, "--at", iso, "--to", f"ezmsg://127.0.0.1:{port}", "--format", "json", "--dry-run")
    assert run.returncode == 0, run.describe()
    report = json.loads(run.stdout)
    assert abs(report["at"] - t_mid) < 1e-5 and report["counts"]["planned"] == 8, (iso, report["at"], t_mid)

    # 2. the startup state: everything but the Enum field (not a plain value) comes back.
    run, report = restore(cli, out, t0, port)
    assert run.returncode == 1, run.describe()
    filt = fields(report, "RIG/FILT")
    assert filt["mode"]["result"] == "cannot" and "not a plain value" in filt["mode"]["reason"], filt["mode"]
    assert {p for p, f in filt.items() if f["result"] == "changed"} == {
        "gain", "order", "taps", "label", "enabled", "spec.order", "spec.cutoff_hz", "spec.kind", "extra", "big",
    }
    assert report["counts"]["cannot"] == 1 and report["counts"]["failed"] == 0 and report["counts"]["not_applied"] == 0
    snap = pipeline_snapshot(port)
    for comp, want in want_0.items():
        got = dict(snap[comp]["structured"])
        if comp == "RIG/FILT":
            assert got.pop("mode") == "fast"  # left alone
            want = {k: v for k, v in want.items() if k != "mode"}
        assert same(got, want), (comp, got, want)

    # 3. the state at T_mid: the pipeline's own snapshot equals the file's state, type for type.
    started = time.monotonic()
    run, report = restore(cli, out, t_mid, port)
    restore_s = time.monotonic() - started
    assert run.returncode == 0, run.describe()
    assert report["complete"] is True and report["counts"]["cannot"] == 0
    snap = pipeline_snapshot(port)
    assert sorted(snap) == sorted(want_mid) == ["RIG", "RIG/FILT", "RIG/TICK"]
    for comp, want in want_mid.items():
        assert same(snap[comp]["structured"], want), (comp, snap[comp]["structured"], want)
    # ... and the settings objects are what the pipeline's classes made, not plain JSON shapes:
    state = dict(snap["RIG/FILT"]["object"]["state"]["dict"])
    assert snap["RIG/FILT"]["object"]["class"] == "__main__.FiltSettings"
    assert state["taps"] == {"tuple": [{"float": "0.1"}, {"float": "0.2"}]}
    assert state["spec"]["class"] == "__main__.Spec"
    assert state["mode"]["class"] == "__main__.Mode"
    assert state["extra"] == {"dict": [["a", {"int": "2"}], ["b", {"int": "3"}]]}
    assert state["big"] == {"int": str(2**60 + 7)} and state["gain"] == {"float": "2.0"}

    # 4. again: nothing to do.
    run, report = restore(cli, out, t_mid, port)
    assert run.returncode == 0, run.describe()
    assert report["counts"]["changed"] == 0 and report["counts"]["matched"] == 11  # 9 fields of RIG/FILT (spec as one), 2 of RIG/TICK

    # Text report, as a user sees it.
    run = cli.run("restore", out, "--at", repr(t0), "--to", f"ezmsg://127.0.0.1:{port}", "--dry-run")
    assert run.returncode == 1, run.describe()  # a dry run's exit says whether the restore would be complete
    assert "RIG/FILT" in run.stdout and "gain: 2.0 → 1.0  would change" in run.stdout, run.stdout
    assert "mode: could not be set" in run.stdout and "dry run, nothing sent" in run.stdout, run.stdout

    # 5. the pipeline is gone: nothing can be set, and restore says so.
    pipeline.send(signal.SIGTERM)
    pipeline.wait(20)
    deadline = time.monotonic() + 10
    while pipeline_snapshot(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    run, report = restore(cli, out, t_mid, port)
    assert run.returncode == 1, run.describe()
    assert [(c["component"], c["status"]) for c in report["components"]] == [("RIG", "gone"), ("RIG/FILT", "gone"), ("RIG/TICK", "gone")]
    print(f"dry run {dry_s:.2f} s, restore of 8 fields {restore_s:.2f} s")


def test_restore_wrong_calls(tmp_path: Path, cli: Cli) -> None:
    table_only = tmp_path / "table.nwb"
    log = REPO / "test" / "fixtures" / "logs" / "pipeline.jsonl"
    conv = cli.run("convert", log, "--out", table_only, "--sinks", "table", "--meta", META)
    assert conv.returncode == 0, conv.describe()
    cases = [
        (["restore", table_only, "--at", "1", "--to", "ezmsg://127.0.0.1:9"], "holds no settings rows that restore can read"),
        (["restore", tmp_path / "missing.nwb", "--at", "1", "--to", "ezmsg://127.0.0.1:9"], "cannot restore from"),
        (["restore", table_only, "--at", "soon", "--to", "ezmsg://127.0.0.1:9"], "--at soon: not a time"),
        (["restore", table_only, "--at", "1", "--to", "http://127.0.0.1:9"], "is not a pipeline to restore into"),
        (["restore", table_only, "--to", "ezmsg://127.0.0.1:9"], "Missing required argument: at"),
        (["restore", table_only, "--at", "1", "--to", "ezmsg://127.0.0.1:99999"], "port must be 1-65535"),
    ]
    for args, message in cases:
        run = cli.run(*args)
        assert run.returncode == 2, run.describe()
        assert message in run.stderr, run.describe()


def test_restore_into_hub_publishers(tmp_path: Path, children: list[Child], cli: Cli) -> None:
    """--to ws://: a standalone hub, a publisher that honours `apply` (hub_publisher.mjs
    --honour-apply), `record --source ws://`; restore at an earlier time reaches the publisher,
    whose settings then equal the file's state at that time."""
    hub = Child("nwb-settings hub", [NODE, str(REPO / "bin" / "nwb-settings.js"), "hub", "--port", "0"])
    children.append(hub)
    url = hub.wait_until("the hub's url", lambda: re.search(r"listening on (ws://\S+)", hub.stdout), 30).group(1)
    out = tmp_path / "hub.nwb"
    rec = start_record("--source", url, "--out", str(out), "--meta", str(META), "--flush-interval", "200")
    children.append(rec)
    rec.wait_stderr(r"live after seq", 20)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({
        "session": "rig", "interval_ms": 150,
        "register": [["RIG/GAIN", {"gain": 1.0, "mode": "a", "spec": {"order": 2}}], ["RIG/TICK", {"rate": 10}]],
        "updates": [["RIG/GAIN", {"gain": 2.5, "mode": "b", "spec": {"order": 3}}], ["RIG/TICK", {"rate": 20}],
                    ["RIG/GAIN", {"gain": 4.0, "mode": "c", "spec": {"order": 5}}]],
    }))
    pub = Child("hub publisher", [NODE, str(REPO / "test" / "conformance" / "hub_publisher.mjs"), url, str(plan), "--honour-apply"])
    children.append(pub)
    done = pub.wait_event("done", 30)
    wait_journal(out, done["last_seq"], 10, rec)
    rec.send(signal.SIGINT)
    assert rec.wait(20) == 0, rec.describe()

    _, rows = file_rows(out)
    times = {row["seq"]: t for t, row in rows}
    t_mid = (times[3] + times[4]) / 2  # after the first GAIN update (seq 3), before the TICK update (seq 4)
    want = state_at(rows, t_mid)
    assert want == {"RIG/GAIN": {"gain": 2.5, "mode": "b", "spec": {"order": 3}}, "RIG/TICK": {"rate": 10}}

    run = cli.run("restore", out, "--at", repr(t_mid), "--to", url, "--format", "json")
    assert run.returncode == 0, run.describe()
    report = json.loads(run.stdout)
    assert report["complete"] is True and report["counts"]["changed"] == 4, report  # gain, mode, spec.order, rate
    applied = {e["component"]: e["settings"] for e in pub.events if e.get("event") == "applied"}
    for comp, settings in want.items():
        assert same(applied[comp], settings), (comp, applied[comp], settings)
