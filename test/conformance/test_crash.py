"""Crash test (#5): `record` is killed with SIGKILL at a random moment (seeded) while a publisher
streams thousands of settings changes through the embedded hub; then `recover` rebuilds the
recording from its journal, and pynwb must read every journaled event: each non-sentinel event
exactly once as a JSON row, every segment readable (the typed table too). Also: a file pynwb
cannot read is one `recover` calls damaged, and no file ever holds a row its journal lacks.

The test prints how many trials left files pynwb could read *without* recovery, and, per trial,
how many events were journaled and what `recover` found.

CRASH_TRIALS (default 10), CRASH_SEED (default 20261128), CRASH_EVENTS (default 5000) override."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import nwbcheck
from conftest import BIN, META, NODE, REPO

TRIALS = int(os.environ.get("CRASH_TRIALS", "10"))
SEED = int(os.environ.get("CRASH_SEED", "20261128"))
EVENTS = int(os.environ.get("CRASH_EVENTS", "5000"))
PUBLISHER = REPO / "test" / "crash" / "publisher.mjs"
SENTINEL = "__init_final__"


def journaled(journal: Path) -> list[dict]:
    """Events of a journal as docs/journal.md defines it: skip the header, ignore a torn last line."""
    raw = journal.read_bytes().split(b"\n")
    events = []
    for i, line in enumerate(raw[1:], start=2):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            assert i == len(raw), f"{journal}:{i}: bad line that is not the torn last line"
            continue
        if "nwb_settings_journal_end" in obj:
            continue
        events.append(obj)
    return events


def wait_for(path: Path, pattern: str, timeout: float, proc: subprocess.Popen) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        m = re.search(pattern, text)
        if m:
            return m
        if proc.poll() is not None:
            raise AssertionError(f"record exited ({proc.returncode}) before {pattern!r}:\n{text}")
        time.sleep(0.02)
    raise AssertionError(f"no {pattern!r} within {timeout}s:\n{path.read_text(errors='replace')}")


def readable(paths: list[Path]) -> tuple[bool, int, str]:
    """Whether pynwb reads every segment as it stands; rows it read; the first error."""
    rows = 0
    for p in paths:
        try:
            content = nwbcheck.read(p)
        except Exception as err:  # noqa: BLE001 - any read failure counts as unreadable
            return False, rows, f"{p.name}: {type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
        rows += sum(len(s.data) for n, s in content.acquisition.items() if hasattr(s, "data"))
    return True, rows, ""


@dataclass
class Trial:
    index: int
    kill_after: float
    journaled: int
    segments: int
    readable_before: bool
    rows_before: int
    error_before: str
    verdict: str


def run_trial(i: int, rng: random.Random, tmp: Path) -> Trial:
    d = tmp / f"trial{i:02d}"
    d.mkdir()
    out = d / "rec.nwb"
    err = d / "record.stderr"
    with open(err, "wb") as e, open(d / "record.stdout", "wb") as o:
        rec = subprocess.Popen(
            [NODE, str(BIN), "record", "--source", "embedded", "--hub-port", "0", "--out", str(out), "--sinks", "annotations,table", "--meta", str(META)],
            cwd=str(REPO), stdout=o, stderr=e,
        )
    pub = None
    try:
        url = wait_for(err, r"ws://127\.0\.0\.1:\d+", 30, rec).group(0)
        wait_for(err, r"startup snapshot done", 30, rec)
        with open(d / "publisher.stdout", "wb") as po, open(d / "publisher.stderr", "wb") as pe:
            pub = subprocess.Popen([NODE, str(PUBLISHER), url, str(EVENTS), str(rng.randrange(1, 2**31))], cwd=str(REPO), stdout=po, stderr=pe)
        # The clock starts once the stream flows (the publisher's first 250 updates acknowledged).
        wait_for(d / "publisher.stdout", r"acked 250", 30, rec)
        kill_after = rng.uniform(0.0, 2.5)
        time.sleep(kill_after)
        assert rec.poll() is None, f"record exited early ({rec.returncode}):\n{err.read_text(errors='replace')}"
        os.kill(rec.pid, signal.SIGKILL)
        rec.wait(10)
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait(10)
        if pub is not None:
            try:
                pub.wait(10)
            except subprocess.TimeoutExpired:
                pub.kill()
                pub.wait(10)

    journal = Path(f"{out}.journal.jsonl")
    assert journal.exists(), f"no journal after the kill:\n{err.read_text(errors='replace')}"
    events = journaled(journal)
    segments = sorted(d.glob("rec*.nwb"))
    ok, rows_before, error_before = readable(segments)

    r = subprocess.run([NODE, str(BIN), "recover", str(journal), "--overwrite"], cwd=str(REPO), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"recover failed:\n{r.stdout}\n{r.stderr}"
    verdict = next((ln.split(": ", 1)[1] for ln in r.stdout.splitlines() if ln.startswith(str(out) + ":")), "?")

    # After recovery pynwb reads every segment, and every journaled event is a row exactly once.
    segments = sorted(d.glob("rec*.nwb"))
    seen: dict[int, int] = {}
    for seg in segments:
        content = nwbcheck.read(seg)
        assert "pipeline_settings" in content.intervals, f"{seg.name}: no typed table"
        for name, series in content.acquisition.items():
            for text in series.data:
                seq = json.loads(text)["seq"]
                seen[seq] = seen.get(seq, 0) + 1
    want = [e["seq"] for e in events if e["component_address"] != SENTINEL]
    missing = [s for s in want if s not in seen]
    doubled = [s for s, n in seen.items() if n > 1]
    extra = sorted(set(seen) - set(want))
    assert not missing and not doubled and not extra, f"trial {i}: missing {missing[:10]} doubled {doubled[:10]} extra {extra[:10]}\n{r.stdout}"
    # recover's own check agrees with pynwb: a file pynwb cannot read is never called complete/behind.
    assert ok or verdict.startswith("damaged"), f"trial {i}: pynwb could not read it ({error_before}) but recover found it {verdict}"
    # Journal first: the file never holds a row the journal lacks (a row written before its journal line).
    assert "the journal implies" not in r.stdout and "not in the journal" not in r.stdout, f"trial {i}: file ahead of its journal\n{r.stdout}"
    return Trial(i, kill_after, len(events), len(segments), ok, rows_before, error_before[:90], verdict[:120])


@pytest.mark.skipif(not PUBLISHER.exists(), reason="publisher script missing")
def test_sigkill_during_a_stream_then_recover_reads_every_journaled_event(tmp_path, capsys):
    rng = random.Random(SEED)
    trials = [run_trial(i, rng, tmp_path) for i in range(TRIALS)]
    readable_count = sum(t.readable_before for t in trials)
    lines = [f"crash test: seed {SEED}, {TRIALS} trials, SIGKILL 0-2.5 s into a stream of {EVENTS} updates (annotations+table sinks)"]
    for t in trials:
        lines.append(
            f"  trial {t.index:2d}: killed after {t.kill_after:4.2f}s, {t.journaled:5d} events journaled, {t.segments} segment(s); "
            f"before recover: {'readable' if t.readable_before else 'NOT readable'} ({t.rows_before} rows{'; ' + t.error_before if t.error_before else ''}); "
            f"recover found it {t.verdict}; after recover: every journaled event read by pynwb"
        )
    lines.append(f"crash test: {readable_count}/{TRIALS} trials left files pynwb could read without recovery; {TRIALS}/{TRIALS} complete after recover")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert all(t.journaled > 0 for t in trials)
