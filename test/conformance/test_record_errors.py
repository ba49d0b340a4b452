"""The error model end to end (#9): a fatal output failure ends `record`.

The output path is blocked after the recording started (a directory appears where the NWB file
is to be created, as when a disk or a mount goes away): the first event's file cannot be created.
`record` must end by itself with a non-zero exit and a message naming the file — not go on
counting events as "rejected". The events it accepted are in the journal (for `recover`).
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import META, NODE, REPO
from liverec import Child, start_record

PUBLISHER = REPO / "test" / "conformance" / "hub_publisher.mjs"


def test_blocked_output_ends_record_with_a_message_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "blocked.nwb"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"session": "blocked", "interval_ms": 20, "register": [["A/GAIN", {"gain": 1.0}]],
                                "updates": [["A/GAIN", {"gain": 2.0}], ["A/GAIN", {"gain": 3.0}]]}))
    rec = start_record("--source", "embedded", "--hub-port", "0", "--out", out, "--sinks", "annotations,table", "--meta", META)
    pub = None
    try:
        url = rec.wait_stderr(r"recording the embedded hub at (ws://127\.0\.0\.1:\d+)", 20).group(1)
        rec.wait_stderr(r"startup snapshot done; live after seq 0", 20)
        out.mkdir()  # the file's place is taken
        pub = Child("hub publisher", [NODE, str(PUBLISHER), url, str(plan)])
        rc = rec.wait(30)
        assert rc != 0, rec.describe()
        assert f"nwb-settings: cannot create {out}" in rec.stderr, rec.describe()
        assert "rejected" not in rec.stdout, rec.describe()
        assert out.is_dir() and list(out.iterdir()) == [], "the blocking directory is left alone"
        journal = Path(f"{out}.journal.jsonl")
        assert journal.exists(), "the journal keeps what was accepted"
        assert '"A/GAIN"' in journal.read_text()
    finally:
        if pub is not None:
            pub.kill()
        rec.kill()
