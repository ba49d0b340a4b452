"""End-to-end (#4): `nwb-settings record` against a real ezmsg 3.9 GraphServer and pipeline.

A GraphServer (test/interop/ezmsg_server.py) and a pipeline whose settings change at run time
(test/interop/ezmsg_pipeline.py: `--mode mixed` alternates whole-object updates on INPUT_SETTINGS
and `GraphContext.update_setting` field patches; ints past 2**53, floats like 2.0, non-ASCII text,
bools, a list of floats and a nested dataclass) run as child processes; `record` records them,
is stopped with SIGINT and must exit 0. pynwb then reads both sinks and every row is compared with
what the pipeline printed and the server's own history (read with ezmsg's Python client), by the
rules of docs/annotation-sink.md and docs/table-sink.md — independently of our code.

- test_record_ezmsg_sigint: the plain run.
- test_record_survives_connection_cuts: a TCP proxy (ours, asyncio) between the recorder and the
  GraphServer cuts every connection twice (an orderly close, then a reset) and refuses connections
  for a while each time; the pipeline keeps changing settings; the file must hold every update
  exactly once, in order, and the recorder must log the loss and the resume.
- test_record_graphserver_restart: the GraphServer is killed and started again on the same port
  with a fresh pipeline (seq restarts at 1, empty history): docs/producer.md "Resync after a
  restart" — changed components come again as INITIAL with the new server's seqs, unchanged ones
  emit nothing, then the new pipeline's updates follow; nothing recorded before is lost.

Needs `npm run build` and the .venv with ezmsg 3.9.0. 127.0.0.1 only; every wait is bounded and
every child process group is killed in the finalizers.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from conftest import META
from liverec import (
    Child,
    TcpProxy,
    check_recording,
    pipeline_events,
    server_history,
    start_graph_server,
    start_pipeline,
    start_record,
    wait_journal,
)

# After the fix of the rebase jitter (producer.ts systemClock), file times keep the source's time
# differences exactly (to rounding); before it, each event moved by 0-1 ms.
TOL = 1e-6
RESUMED = r"resumed after seq (\d+); (\d+) missed event\(s\) recovered from history; live after seq (\d+)"



def record_args(out: Path, port: int) -> list[str]:
    return ["--source", f"ezmsg://127.0.0.1:{port}", "--out", str(out), "--sinks", "annotations,table", "--meta", str(META),
            "--flush-interval", "200"]


def stop_recorder(rec: Child, sig: int = signal.SIGINT) -> tuple[float, float, int]:
    """Signal the recorder; return (wall time sent, wall time exited, exit code)."""
    sent = time.time()
    rec.send(sig)
    rc = rec.wait(20)
    return sent, time.time(), rc


def assert_stopped(rec: Child, rc: int, out: Path, events: int, how: str = "SIGINT") -> None:
    assert rc == 0, rec.describe()
    assert f"stopped ({how}): {events} events recorded" in rec.stdout, rec.describe()
    assert str(out) in rec.stdout
    assert "error" not in rec.stderr.lower(), rec.describe()


def test_record_ezmsg_sigint(tmp_path: Path, children: list[Child]) -> None:
    updates = 8
    server, port = start_graph_server()
    children.append(server)
    pipeline = start_pipeline(port, updates=updates, interval=0.2, start_delay=2.0)
    children.append(pipeline)
    pipeline.wait_event("started", 30)

    out = tmp_path / "ezmsg.nwb"
    rec = start_record(*record_args(out, port))
    children.append(rec)
    live = rec.wait_stderr(r"startup snapshot done; live after seq (\d+)", 20)
    assert live.group(1) == "3", f"the recorder must be live before the first update (start-delay too short?)\n{rec.describe()}"
    done = pipeline.wait_event("done", 30)
    assert not [e for e in pipeline.events if e.get("event") == "update_lost"], pipeline.describe()
    wait_journal(out, done["last_seq"], 10, rec)
    sent, exited, rc = stop_recorder(rec, signal.SIGINT)

    history = server_history(port)
    initials, upd = pipeline_events(pipeline, history)
    assert len(upd) == updates and [e.seq for e in upd] == list(range(4, 4 + updates))
    # 3 INITIALs + the sentinel + every update
    assert_stopped(rec, rc, out, 3 + 1 + updates)
    origin = min(e.wall for e in initials)  # the registrations happened before the recording started
    checked = check_recording(
        out, initials + upd, origin,
        stop_window=(upd[-1].wall - origin, exited - origin + 0.01),
        time_tolerance=TOL, session_start_wall=origin,
    )
    assert checked.annotation_times[0] == 0.0  # the earliest startup INITIAL is the origin, exactly
    # the open interval is closed at the stop: after the SIGINT was sent, not at the last update
    assert checked.stop_time >= sent - origin - 0.01, (checked.stop_time, sent - origin)


def test_record_survives_connection_cuts(tmp_path: Path, children: list[Child]) -> None:
    updates = 32
    server, port = start_graph_server()
    children.append(server)
    proxy = TcpProxy(port)
    try:
        pipeline = start_pipeline(port, updates=updates, interval=0.15, start_delay=2.0)
        children.append(pipeline)
        pipeline.wait_event("started", 30)

        out = tmp_path / "cut.nwb"
        rec = start_record(*record_args(out, proxy.port))
        children.append(rec)
        live = rec.wait_stderr(r"startup snapshot done; live after seq (\d+)", 20)
        assert live.group(1) == "3", rec.describe()

        # cut 1: orderly close of every connection, refuse for 1.2 s, accept again
        u2 = pipeline.wait_event("update", 20, index=2)
        wait_journal(out, u2["seq"], 10, rec)
        assert proxy.accepted >= 2  # the session connection and the subscription go through the proxy
        assert proxy.cut(rst=False) >= 4
        time.sleep(1.2)
        proxy.listen()
        first = rec.wait_stderr(RESUMED, 15)

        # back live: an update after the resume arrives on the new subscription
        after = pipeline.wait_until("an update after the resume", lambda: next(
            (e for e in pipeline.events if e.get("event") == "update" and e["seq"] >= int(first.group(3)) + 2), None), 20)
        wait_journal(out, after["seq"], 10, rec)

        # cut 2: TCP reset of every connection, refuse for 0.6 s, accept again
        assert proxy.cut(rst=True) >= 4
        time.sleep(0.6)
        proxy.listen()
        rec.wait_stderr(RESUMED, 15, count=2)
        done = pipeline.wait_event("done", 30)
        wait_journal(out, done["last_seq"], 10, rec)
        sent, exited, rc = stop_recorder(rec, signal.SIGINT)
    finally:
        proxy.close()

    assert not [e for e in pipeline.events if e.get("event") == "update_lost"], pipeline.describe()
    history = server_history(port)
    initials, upd = pipeline_events(pipeline, history)
    assert [e.seq for e in upd] == list(range(4, 4 + updates))
    assert_stopped(rec, rc, out, 3 + 1 + updates)

    # The recorder said what happened: two losses, two resumes with missed events recovered.
    log = rec.stderr
    lost = re.findall(r"(subscription ended \(source closed the stream\)|connection lost|cannot connect)[^\n]*", log)
    assert len([x for x in lost if x != "cannot connect"]) >= 2, log
    assert "ECONNREFUSED" in log, log  # it tried while the proxy refused
    resumed = [tuple(map(int, m)) for m in re.findall(RESUMED, log)]
    assert len(resumed) == 2 and all(k >= 1 for _, k, _ in resumed), log
    # and after the second resume the subscription delivered live updates again
    assert resumed[-1][2] < done["last_seq"], f"no live update after the second resume (live after {resumed[-1][2]}, last {done['last_seq']})"
    assert "restart detected" not in log and "resync" not in log, log

    origin = min(e.wall for e in initials)
    check_recording(
        out, initials + upd, origin,
        stop_window=(upd[-1].wall - origin, exited - origin + 0.01),
        time_tolerance=TOL, session_start_wall=origin,
    )


def test_record_graphserver_restart(tmp_path: Path, children: list[Child]) -> None:
    """docs/producer.md "Resync after a restart": the GraphServer dies (and the pipeline with it) and
    a new one starts on the same port with a fresh pipeline, whose seqs restart at 1. The recorder
    (through the proxy, which refuses until the new pipeline has registered, so the order is fixed)
    must detect the restart, re-emit as INITIAL exactly the components whose value differs from what
    it last wrote (SYS/GAIN, SYS/TICK: the old pipeline had changed them; SYS is unchanged: nothing),
    then record the new pipeline's updates with the new server's seqs. Nothing recorded before is
    lost or doubled."""
    server, port = start_graph_server()
    children.append(server)
    proxy = TcpProxy(port)
    try:
        old = start_pipeline(port, updates=4, interval=0.2, start_delay=1.5)
        children.append(old)
        old.wait_event("started", 30)
        out = tmp_path / "restart.nwb"
        rec = start_record(*record_args(out, proxy.port))
        children.append(rec)
        assert rec.wait_stderr(r"startup snapshot done; live after seq (\d+)", 20).group(1) == "3", rec.describe()
        old_done = old.wait_event("done", 30)
        wait_journal(out, old_done["last_seq"], 10, rec)
        old_history = server_history(port)

        # the server dies (SIGKILL: no goodbye), the old pipeline with it; refuse the recorder meanwhile
        proxy.cut(rst=False)
        server.kill()
        old.kill()
        rec.wait_stderr(r"subscription ended|connection lost", 10)
        server2, port2 = start_graph_server(port)
        children.append(server2)
        assert port2 == port
        new = start_pipeline(port, updates=4, interval=0.2, start_delay=5.0)
        children.append(new)
        new.wait_event("started", 30)
        proxy.listen()
        rec.wait_stderr(r"resynced \(restarted source", 15)
        new_done = new.wait_event("done", 30)
        assert not [e for e in new.events if e.get("event") == "update_lost"], new.describe()
        new_history = server_history(port)
        sent, exited, rc = stop_recorder(rec, signal.SIGINT)
    finally:
        proxy.close()

    log = rec.stderr
    assert "restart detected" in log, log
    m = re.search(r"resynced \(restarted source; seq (\d+) → (\d+)\): 2 changed or new component\(s\) re-emitted as INITIAL "
                  r"\[SYS/GAIN, SYS/TICK\], 1 unchanged", log)
    assert m and int(m.group(1)) == old_done["last_seq"] and int(m.group(2)) == 3, log
    # the new pipeline's updates were recorded live, after the resync
    assert re.search(r"resumed after seq", log) is None, log

    initials, old_upd = pipeline_events(old, old_history)
    new_initials, new_upd = pipeline_events(new, new_history)
    assert [e.seq for e in new_upd] == list(range(4, 4 + len(new_upd))) and new_done["last_seq"] == 7
    resync = [e for e in new_initials if e.component != "SYS"]  # SYS is unchanged ({}): not re-emitted
    events = initials + old_upd + resync + new_upd
    assert_stopped(rec, rc, out, 3 + 1 + len(old_upd) + len(resync) + 1 + len(new_upd))
    origin = min(e.wall for e in initials)
    check_recording(
        out, events, origin,
        stop_window=(new_upd[-1].wall - origin, exited - origin + 0.01),
        time_tolerance=TOL, session_start_wall=origin,
    )
