"""Helpers for the live-recording end-to-end tests (test_record_*.py, test_demo.py).

- `Child`: a child process in its own process group, stdout JSON lines and stderr collected by
  threads, bounded waits, and `kill()` that SIGKILLs the whole group (ezmsg forks backends).
- `start_graph_server`, `start_pipeline`, `start_record`: the Python fixtures of test/interop and
  `nwb-settings record`.
- `server_history(port)`: the GraphServer's settings events read with ezmsg's own Python client
  (independent of our TypeScript client).
- `TcpProxy`: an asyncio TCP proxy on 127.0.0.1 in a thread that can cut every connection (FIN or
  RST) and refuse new ones for a while.
- The expectation model: annotation rows and typed-table rows computed from what the pipeline
  printed and the server's history, by the rules of docs/annotation-sink.md, docs/table-sink.md and
  docs/values.md — never from our own output.

Only 127.0.0.1 is used. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from conftest import BIN, NODE, REPO
from expected import json_diff

INTEROP = REPO / "test" / "interop"
PYTHON = sys.executable
# ezmsg 3.10.0b5 in its own venv (scripts/setup-python.sh): data-stream tests run against both versions.
PYTHON_EZMSG310 = os.environ.get("NWB_SETTINGS_PYTHON_EZMSG310", str(REPO / ".venv-ezmsg310" / "bin" / "python"))
# (version, Python with that ezmsg) for tests parametrized over the ezmsg versions we support
EZMSG_PYTHONS = [("3.9.0", PYTHON), ("3.10.0b5", PYTHON_EZMSG310)]
SENTINEL = "__init_final__"
TABLE = "pipeline_settings"
SERIES = "settings_annotations"


# --------------------------------------------------------------------------------------------------
# child processes
# --------------------------------------------------------------------------------------------------


class Child:
    """A process in its own session/process group; stdout lines (JSON parsed when possible) and
    stderr text are collected in the background."""

    def __init__(self, name: str, argv: list[str], env: Optional[dict[str, str]] = None) -> None:
        self.name = name
        self.argv = argv
        self.lines: list[str] = []
        self.events: list[dict] = []
        self._stderr: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            argv,
            cwd=str(REPO),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # own process group: kill() reaches forked children
        )
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace")
            with self._cond:
                if is_stdout:
                    self.lines.append(text.rstrip("\n"))
                    if text.lstrip().startswith("{"):
                        try:
                            self.events.append(json.loads(text))
                        except ValueError:
                            pass
                else:
                    self._stderr.append(text)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stdout(self) -> str:
        with self._cond:
            return "".join(line + "\n" for line in self.lines)

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(self._stderr)

    def describe(self) -> str:
        return f"{self.name} (pid {self.proc.pid}, exit {self.proc.poll()})\n--- stdout\n{self.stdout}--- stderr\n{self.stderr[-6000:]}"

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hit = check()
                if hit:
                    return hit
                if self.proc.poll() is not None and all(not t.is_alive() for t in self._threads):
                    hit = check()
                    if hit:
                        return hit
                    raise AssertionError(f"{self.name} exited before {what}\n{self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name}: no {what} within {timeout} s\n{self.describe()}")
                self._cond.wait(min(left, 0.1))

    def wait_event(self, event: str, timeout: float, **match: Any) -> dict:
        def find() -> Optional[dict]:
            return next((e for e in self.events if e.get("event") == event and all(e.get(k) == v for k, v in match.items())), None)

        return self.wait_until(f'JSON event "{event}" {match or ""}', find, timeout)

    def wait_stderr(self, pattern: str, timeout: float, count: int = 1) -> re.Match:
        def find() -> Optional[re.Match]:
            hits = list(re.finditer(pattern, "".join(self._stderr)))
            return hits[count - 1] if len(hits) >= count else None

        return self.wait_until(f"stderr {pattern!r} (x{count})", find, timeout)

    def send(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout} s\n{self.describe()}") from None
        for t in self._threads:
            t.join(2)
        return rc

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 8.0) -> Optional[int]:
        """Signal, wait up to `timeout`, then SIGKILL the group. Never raises."""
        try:
            self.send(sig)
            return self.proc.wait(timeout)
        except Exception:  # noqa: BLE001
            return None
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process group this child leads (it and whatever it forked)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def start_graph_server(port: int = 0, python: str = PYTHON, version: str = "3.9.0") -> tuple[Child, int]:
    assert Path(python).exists(), f"no Python at {python}: run `npm run setup:python`"
    server = Child(f"ezmsg {version} GraphServer", [python, "-u", str(INTEROP / "ezmsg_server.py"), "--host", "127.0.0.1", "--port", str(port)])
    try:
        listening = server.wait_event("listening", 30)
    except BaseException:
        server.kill()
        raise
    assert listening["ezmsg_version"] == version, listening
    return server, int(listening["port"])


def start_pipeline(port: int, updates: int, interval: float, start_delay: float, mode: str = "mixed") -> Child:
    return Child(
        "ezmsg pipeline",
        [PYTHON, "-u", str(INTEROP / "ezmsg_pipeline.py"), "--graph-address", f"127.0.0.1:{port}", "--updates", str(updates),
         "--interval", str(interval), "--start-delay", str(start_delay), "--mode", mode],
    )


def start_record(*args: str | Path) -> Child:
    return Child("nwb-settings record", [NODE, str(BIN), "record", *[str(a) for a in args]])


def journal_seqs(out: Path) -> list[int]:
    """Seqs in the recorder's journal so far (used only to know when the recorder caught up)."""
    path = Path(f"{out}.journal.jsonl")
    if not path.exists():
        return []
    seqs = []
    for line in path.read_bytes().split(b"\n")[1:]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "seq" in obj and obj.get("component_address") != SENTINEL:
            seqs.append(obj["seq"])
    return seqs


def wait_journal(out: Path, seq: int, timeout: float, rec: Child) -> None:
    """Until the journal holds an event with `seq` (the recorder has written it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if seq in journal_seqs(out):
            return
        assert rec.proc.poll() is None, f"recorder exited early\n{rec.describe()}"
        time.sleep(0.05)
    raise AssertionError(f"the recorder did not journal seq {seq} within {timeout} s (has {journal_seqs(out)})\n{rec.describe()}")


_HISTORY = """
import asyncio, json, sys
import ezmsg.core as ez
async def main():
    async with ez.GraphContext(("127.0.0.1", int(sys.argv[1])), auto_start=False) as ctx:
        evs = await ctx.settings_events(0)
    print(json.dumps([{"seq": e.seq, "timestamp": e.timestamp, "component": e.component_address,
                       "type": e.event_type.value} for e in evs]))
asyncio.run(main())
"""


def server_history(port: int) -> dict[int, dict]:
    """seq -> {seq, timestamp, component, type}: the GraphServer's retained settings events, read
    with ezmsg's own GraphContext."""
    p = subprocess.run([PYTHON, "-c", _HISTORY, str(port)], capture_output=True, text=True, timeout=30, cwd=str(REPO))
    assert p.returncode == 0, p.stderr
    return {e["seq"]: e for e in json.loads(p.stdout)}


# --------------------------------------------------------------------------------------------------
# TCP proxy
# --------------------------------------------------------------------------------------------------


class TcpProxy:
    """127.0.0.1:port -> 127.0.0.1:target, on an asyncio loop in a daemon thread.

    `cut(rst)` closes every proxied connection (both sides; with `rst` by SO_LINGER 0, i.e. a TCP
    reset, else an orderly FIN) and stops listening; `listen()` accepts again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.accepted = 0
        self.cuts = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: Optional[asyncio.base_events.Server] = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.listen()

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cw.close()
            return
        self._writers |= {cw, sw}
        try:
            await asyncio.gather(self._pipe(cr, sw), self._pipe(sr, cw))
        finally:
            self._writers -= {cw, sw}

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def listen(self) -> None:
        self._call(self._listen())

    async def _cut(self, rst: bool) -> int:
        if self._server is not None:
            self._server.close()
            self._server = None
        n = 0
        for w in list(self._writers):
            n += 1
            if rst:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.transport.abort()
            else:
                w.close()
        self._writers.clear()
        self.cuts += 1
        return n

    def cut(self, rst: bool = False) -> int:
        """Cut every connection and refuse new ones until `listen()`. Returns the sockets closed."""
        return self._call(self._cut(rst))

    def close(self) -> None:
        try:
            self._call(self._cut(True), timeout=5)
        except Exception:  # noqa: BLE001
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


# --------------------------------------------------------------------------------------------------
# expectation model
# --------------------------------------------------------------------------------------------------


@dataclass
class Ev:
    """One settings event as the test knows it independently: from the pipeline/publisher output
    (values, seq) and the source's own record of the time (seconds, wall clock)."""

    kind: str  # "INITIAL" | "UPDATED"
    component: str
    seq: int
    wall: float
    value: Any


def expected_annotation_rows(events: list[Ev], origin: float) -> list[tuple[float, dict]]:
    """docs/annotation-sink.md: a run of INITIALs is written sorted by (time, seq); every other
    event in arrival order; stored time = max(own time, previous stored time) (+ a "timestamp" key
    when moved). Times are file seconds: wall - origin."""
    rows: list[tuple[float, dict]] = []
    held: list[Ev] = []

    def put(e: Ev) -> None:
        t = e.wall - origin
        row = {"component": e.component, "event_type": e.kind, "seq": e.seq, "settings": e.value}
        if rows and rows[-1][0] > t:
            row["timestamp"] = t
            t = rows[-1][0]
        rows.append((t, row))

    def drain() -> None:
        for e in sorted(held, key=lambda e: (e.wall, e.seq)):
            put(e)
        held.clear()

    for e in events:
        if e.kind == "INITIAL":
            held.append(e)
        else:
            drain()
            put(e)
    drain()
    return rows


@dataclass
class ExpectedTable:
    columns: list[str]
    rows: list[tuple[float, Optional[float], str, dict]]  # start, stop (None = the stop time), component, state
    kinds: dict[str, Any] = field(default_factory=dict)  # column -> first Python value (for dtypes)


def expected_table(events: list[Ev], origin: float, times: Optional[dict[tuple, list[float]]] = None) -> ExpectedTable:
    """docs/table-sink.md, by the independent model in table_model.py: the merged startup state as
    the first row from the first buffered INITIAL's time (arrival order), one row per later state,
    changes at one instant merged, the last row ending at the stop (unknown here: None). Times are
    wall - origin, or taken in order from `times[(component, kind, seq)]` when given (the file times
    of the JSON rows, exact to the bit, so that changes at one instant are recognised exactly; a
    restarted source repeats seqs, hence a list per key)."""
    import table_model

    queue = {k: list(v) for k, v in (times or {}).items()}

    def t_of(e: Ev) -> float:
        return queue[(e.component, e.kind, e.seq)].pop(0) if times is not None else e.wall - origin

    segs = table_model.model_table([(e.kind, e.component, t_of(e), e.value) for e in events], None)
    assert len(segs) <= 1, "a live recording here never rotates"
    if not segs:
        return ExpectedTable([], [], {})
    seg = segs[0]
    sample = {"bool": False, "int64": 0, "float64": 0.0, "str": ""}
    kinds = {c: ([] if k[1] else sample[k[0]]) for c, k in seg.kinds.items()}
    rows = [(r.start, r.stop, r.component, {c: table_model.stored(v) for c, v in r.state.items()}) for r in seg.rows]
    return ExpectedTable(list(seg.columns), rows, kinds)


def plain(v: Any) -> Any:
    """A cell as pynwb returns it, as plain Python, keeping the type: np.float64 -> float,
    np.int64 -> int, np.bool_ -> bool, arrays -> lists."""
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v


def expected_dtype(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "str"  # pandas 3's string dtype, as pynwb's to_dataframe gives it here
    return "object"  # arrays: one numpy array per cell


def read_table(path: Path) -> tuple[Any, dict[str, list]]:
    """(dataframe, column -> cells as pynwb's TimeIntervals returns them)."""
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            t = f.intervals[TABLE]
            cells = {c: [t[c][i] for i in range(len(t))] for c in t.colnames}
            return t.to_dataframe(), cells


@dataclass
class Checked:
    annotation_times: list[float]
    table_rows: int
    stop_time: float
    inspector: set[str]  # nwbinspector checks reported at BEST_PRACTICE_VIOLATION or above


def check_recording(
    out: Path,
    events: list[Ev],
    origin: float,
    stop_window: tuple[float, float],
    time_tolerance: float,
    session_start_wall: Optional[float] = None,
    also_allowed: frozenset[str] = frozenset(),
    streams: tuple[str, ...] = (),
) -> Checked:
    """Assert the file holds exactly `events` in both sinks (values, types, order, times within
    `time_tolerance` of `wall - origin`), that the last interval closes inside `stop_window` (file
    seconds), validation is clean and nwbinspector reports only the documented table conflicts."""
    import nwbcheck

    assert sorted(p.name for p in out.parent.glob(f"{out.stem}_*.nwb")) == [], "no segment rotation expected"
    content = nwbcheck.read(out)
    assert sorted(content.acquisition) == sorted([SERIES, *streams]), content.acquisition.keys()
    assert list(content.intervals) == [TABLE], content.intervals.keys()
    if session_start_wall is not None:
        got = content.session_start_time.timestamp()
        assert abs(got - session_start_wall) < 0.01, f"session_start_time {content.session_start_time} vs origin {session_start_wall}"
        assert content.timestamps_reference_time == content.session_start_time

    # --- JSON rows
    series = content.acquisition[SERIES]
    want = expected_annotation_rows(events, origin)
    got_rows = [json.loads(d) for d in series.data]
    got_keys = [(r["component"], r["event_type"], r["seq"], round(t, 6)) for r, t in zip(got_rows, series.timestamps)]
    want_keys = [(r["component"], r["event_type"], r["seq"], round(t, 6)) for t, r in want]
    assert [k[:3] for k in got_keys] == [k[:3] for k in want_keys], f"annotation rows differ:\n ours {got_keys}\n want {want_keys}"
    for i, ((t_want, r_want), r_got, t_got) in enumerate(zip(want, got_rows, series.timestamps)):
        assert json_diff(r_got, r_want) == [], f"annotation row {i}: {json_diff(r_got, r_want)}"
        assert abs(t_got - t_want) <= time_tolerance, f"annotation row {i} ({r_got['component']} seq {r_got['seq']}): time {t_got} vs expected {t_want}"
    assert all(a <= b for a, b in zip(series.timestamps, series.timestamps[1:])), series.timestamps

    # --- typed table
    # The model runs on the JSON rows' own times (an event's own time is its "timestamp" key when the
    # row was moved later); those were checked against the independent times just above.
    own: dict[tuple, list[float]] = {}
    for r, t in zip(got_rows, series.timestamps):
        own.setdefault((r["component"], r["event_type"], r["seq"]), []).append(float(r.get("timestamp", t)))
    et = expected_table(events, origin, own)
    df, cells = read_table(out)
    assert list(df.columns) == ["start_time", "stop_time", "updated_component", *et.columns]
    for c in et.columns:
        assert str(df.dtypes[c]) == expected_dtype(et.kinds[c]), f"column {c}: dtype {df.dtypes[c]}, expected for {et.kinds[c]!r}"
    n = len(cells["start_time"])
    assert n == len(et.rows), f"table has {n} rows, expected {len(et.rows)}:\n{df}"
    for i, (start, stop, comp, state) in enumerate(et.rows):
        s, p = float(cells["start_time"][i]), float(cells["stop_time"][i])
        assert cells["updated_component"][i] == comp, f"row {i}: updated_component {cells['updated_component'][i]!r} vs {comp!r}"
        assert s == start, f"row {i}: start {s} vs {start} (the JSON rows' time of the event that opened it)"
        if stop is not None:
            assert p == stop, f"row {i}: stop {p} vs {stop}"
        else:
            lo, hi = stop_window
            assert lo <= p <= hi, f"last row: stop {p} outside the stop window [{lo}, {hi}]"
            assert p >= s
        for c in et.columns:
            got, exp = plain(cells[c][i]), state[c]
            assert json_diff(got, exp) == [], f"row {i} column {c}: {json_diff(got, exp)}"
            if isinstance(exp, list):
                assert isinstance(cells[c][i], np.ndarray) and cells[c][i].dtype == np.float64, (c, cells[c][i])
    # --- interval rules, validation and inspector (default and DANDI configuration): nothing allowed
    import table_model

    starts, stops = [float(x) for x in cells["start_time"]], [float(x) for x in cells["stop_time"]]
    assert table_model.interval_problems(starts, stops, True) == []
    assert nwbcheck.validate(out) == []
    found: set[str] = set()
    for config in (None, "dandi"):
        gate = nwbcheck.inspect(out, config=config).gate
        found |= {m.split()[1] for m in gate}
        assert {m.split()[1] for m in gate} <= also_allowed, (config, gate)
    return Checked(list(series.timestamps), n, float(cells["stop_time"][-1]), found)


def pipeline_events(pipeline: Child, history: dict[int, dict]) -> tuple[list[Ev], list[Ev]]:
    """(INITIAL events of the startup snapshot in sorted address order, UPDATED events in order),
    values from what the pipeline printed, times from the server's own history."""
    started = next(e for e in pipeline.events if e.get("event") == "started")
    initials = []
    for comp in sorted(started["components"]):
        reg = [h for h in history.values() if h["component"] == comp]
        assert [h["type"] for h in reg][:1] == ["INITIAL_SETTINGS"], reg
        h = reg[0]
        initials.append(Ev("INITIAL", comp, h["seq"], h["timestamp"], started["components"][comp]))
    updates = []
    for u in (e for e in pipeline.events if e.get("event") == "update"):
        h = history[u["seq"]]
        assert h["component"] == u["component"] and h["type"] == "SETTINGS_UPDATED", (u, h)
        updates.append(Ev("UPDATED", u["component"], u["seq"], h["timestamp"], u["value"]))
    return initials, updates
