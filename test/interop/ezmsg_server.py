"""Run a real ezmsg GraphServer for tests, on a free port, until told to stop.

Usage:
    python test/interop/ezmsg_server.py [--host 127.0.0.1] [--port 0]

Once the server is listening, prints exactly one JSON line to stdout and flushes it:
    {"event": "listening", "host": "127.0.0.1", "port": 41234, "ezmsg_version": "3.9.0", "pid": 1234}
(--port 0, the default, lets the OS pick a free port.)

Runs until SIGTERM or SIGINT. Then it stops the server the way ezmsg does on shutdown (every
client connection is closed: clients see EOF), prints {"event": "stopped"} and exits 0.
Logs go to stderr. Environment variables ezmsg reads at import time (for example
EZMSG_SETTINGS_EVENT_HISTORY_LIMIT) apply as usual.

Used by the ezmsg client interop test and by the `record` end-to-end test.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 = a free port (default)")
    args = parser.parse_args()

    import ezmsg.core as ez
    from ezmsg.core.graphserver import GraphServer

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server = GraphServer()
    server.start((args.host, args.port))
    host, port = server.address
    print(
        json.dumps(
            {
                "event": "listening",
                "host": host,
                "port": port,
                "ezmsg_version": ez.__version__,
                "pid": __import__("os").getpid(),
            }
        ),
        flush=True,
    )
    try:
        while not stop.wait(0.2):
            if not server.is_alive():
                print(json.dumps({"event": "died"}), flush=True)
                return 1
    finally:
        server.stop()
    print(json.dumps({"event": "stopped"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
