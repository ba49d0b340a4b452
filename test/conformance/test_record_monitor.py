"""`nwb-settings record --monitor PORT` as a user runs it (#14): the monitor page's URL on stderr,
the page and its data served while recording, a change published to the hub in the page's data,
the last status "stopped" after SIGINT, and wrong calls refused with exit 2 before anything starts.
The page itself (in a real browser) is tested in test/browser/monitor-page.test.ts.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from conftest import BIN, META, NODE, REPO
from liverec import Child, start_record

PUBLISHER = REPO / "test" / "conformance" / "hub_publisher.mjs"


def get(url: str, host: str | None = None) -> tuple[int, Message, bytes]:
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_record_monitor_serves_the_page_and_the_live_state(tmp_path: Path) -> None:
    out = tmp_path / "mon.nwb"
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--meta", META, "--monitor", "0", "--flush-interval", "200")
    pub = None
    try:
        hub = rec.wait_stderr(r"recording the embedded hub at (ws://127\.0\.0\.1:\d+)", 20).group(1)
        url = rec.wait_stderr(r"monitor page at (http://127\.0\.0\.1:(\d+)/)", 20).group(1)
        assert int(url.rsplit(":", 1)[1].strip("/")) > 0  # port 0 → a real port, printed
        rec.wait_stderr(r"startup snapshot done", 20)

        status, headers, body = get(url)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b'new EventSource("events")' in body
        assert len(body) < 20_000  # one small static file
        assert get(url, host="attacker.example")[0] == 403

        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps({"session": "mon", "interval_ms": 20,
                                    "register": [["RIG/FILTER", {"cutoff": 30.0, "order": 4}]],
                                    "updates": [["RIG/FILTER", {"cutoff": 45.5, "order": 4}]]}))
        pub = Child("hub publisher", [NODE, str(PUBLISHER), hub, str(plan)])
        assert pub.wait(20) == 0, pub.describe()

        def state() -> dict:
            return json.loads(get(url + "state.json")[2])

        s = rec.wait_until("the change in the monitor's state", lambda: (lambda s: s if s["feed"] and s["feed"][-1]["seq"] == 2 else None)(state()), 10)
        assert s["components"] == [{"address": "RIG/FILTER", "session": "mon", "seq": 2, "t": s["components"][0]["t"],
                                    "settings": [["cutoff", "45.5"], ["order", "4"]]}]
        assert s["feed"][-1]["changes"] == [{"setting": "cutoff", "old": "30.0", "new": "45.5"}]
        assert s["status"]["state"] == "recording"
        assert s["status"]["out"] == str(out)
        seg = s["status"]["segments"]
        assert [(x["path"], x["index"]) for x in seg] == [(str(out), 0)]
        assert seg[0]["rows"] > 0 and seg[0]["bytes"] > 0

        # an open event stream ends with the last status, "stopped", when the recording stops
        events = urllib.request.urlopen(urllib.request.Request(url + "events"), timeout=20)
        rec.send(signal.SIGINT)
        assert rec.wait(30) == 0, rec.describe()
        stream = events.read().decode()
        last = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: ")][-1]
        assert last["status"]["state"] == "stopped", stream[-500:]
        assert "stopped (SIGINT)" in rec.stdout
    finally:
        if pub:
            pub.kill()
        rec.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--monitor", "http"], r"--monitor needs a TCP port number from 0 to 65535"),
        (["--monitor", "70000"], r"--monitor needs a TCP port number from 0 to 65535"),
        (["--monitor-host", "0.0.0.0"], r"--monitor-host needs --monitor"),
    ],
)
def test_record_monitor_wrong_calls(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.nwb"
    r = subprocess.run([NODE, str(BIN), "record", "--hub-port", "0", "--out", str(out), *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert re.search(message, r.stderr), r.stderr
    assert not out.exists()


def test_record_monitor_busy_port_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.nwb"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([NODE, str(BIN), "record", "--hub-port", "0", "--out", str(out), "--monitor", str(port)],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"port {port} is already in use" in r.stderr and "--monitor 0" in r.stderr, r.stderr
    assert not out.exists() and not Path(f"{out}.journal.jsonl").exists()
