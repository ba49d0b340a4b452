"""Output safety of every command under hostile use (docs/reliability.md, "Output safety").

One table, one case per class of problem and per example of issue #13. Each case runs the real
CLI and asserts what is on disk afterwards: which files exist (hidden temporary files included),
which are byte-identical to before, which pynwb reads, and the exit status and message.

Disk full is a real 1 MiB tmpfs (the suite runs as root in CI; mounting is required, not skipped).
Out of memory is a real worker heap limit (`convert --max-memory`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

import nwbcheck
from conftest import BIN, LOGS, NODE, REPO, Cli
from test_recover import pipeline_events, write_journal

PIPELINE = LOGS / "pipeline.jsonl"


# ------------------------------------------------------------------------------------------------
# helpers


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(d: Path) -> dict[str, str]:
    """Every file under d (hidden ones too) with its digest."""
    return {str(p.relative_to(d)): sha(p) for p in sorted(d.rglob("*")) if p.is_file()}


def names(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def event(seq: int, t: float, component: str, settings: dict, kind: str = "UPDATED") -> dict:
    return {
        "seq": seq,
        "timestamp": t,
        "component_address": component,
        "event_type": kind,
        "repr_value": json.dumps(settings),
        "structured_value": settings,
        "source_session_id": "s",
        "table_name": "settings",
    }


def write_log(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def small_log(path: Path, n: int = 5, component: str = "A") -> Path:
    return write_log(path, [event(i + 1, 1000.0 + i, component, {"gain": i + 0.5}) for i in range(n)])


def rotating_log(path: Path) -> Path:
    """A log whose typed table rotates into a second segment (int → string is a dtype change)."""
    return write_log(path, [event(1, 1000.0, "A", {"x": 1}), event(2, 1001.0, "A", {"x": 2}), event(3, 1002.0, "A", {"x": "text"})])


def rows(nwb: Path) -> int:
    content = nwbcheck.read(nwb)
    return sum(len(s.data) for s in content.acquisition.values())


def no_partials(d: Path) -> None:
    left = [p.name for p in d.rglob("*") if p.name.endswith(".partial") or ".partial." in p.name]
    assert left == [], f"temporary files left behind: {left}"


def spawn(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([NODE, str(BIN), *args], cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------------------------------------------
# cases: each gets (cli, tmp) and asserts disk, exit status and message


def convert_out_is_input(cli: Cli, tmp: Path) -> None:
    log = small_log(tmp / "run.jsonl")
    before = snapshot(tmp)
    run = cli.run("convert", log, "--out", log, "--overwrite", cwd=tmp)
    assert run.returncode == 2, run.describe()
    assert "is the input" in run.stderr and "destroy" in run.stderr, run.describe()
    assert "warning" not in run.stderr, run.describe()  # a refused call says its one reason, no advice besides
    assert snapshot(tmp) == before


def convert_out_is_input_by_another_name(cli: Cli, tmp: Path) -> None:
    log = small_log(tmp / "run.jsonl")
    os.symlink(log, tmp / "link.nwb")
    before = snapshot(tmp)
    run = cli.run("convert", log, "--out", tmp / "link.nwb", "--overwrite", cwd=tmp)
    assert run.returncode == 2 and "is the input" in run.stderr, run.describe()
    assert snapshot(tmp) == before


def convert_keeps_unrelated_files_named_like_segments(cli: Cli, tmp: Path) -> None:
    # session_2024.nwb and session_99.nwb are real NWB files of other sessions
    for other in ("session_2024", "session_99", "session_01"):
        r = cli.run("convert", small_log(tmp / f"{other}.jsonl", component=other), "--out", tmp / f"{other}.nwb")
        assert r.returncode == 0, r.describe()
    log = small_log(tmp / "session.jsonl")
    assert cli.run("convert", log, "--out", tmp / "session.nwb").returncode == 0
    keep = {n: sha(tmp / n) for n in ("session_2024.nwb", "session_99.nwb", "session_01.nwb")}
    run = cli.run("convert", log, "--out", tmp / "session.nwb", "--overwrite")
    assert run.returncode == 0, run.describe()
    assert {n: sha(tmp / n) for n in keep} == keep
    assert rows(tmp / "session.nwb") == 5
    no_partials(tmp)


def convert_removes_its_own_stale_segments_only(cli: Cli, tmp: Path) -> None:
    log = rotating_log(tmp / "rot.jsonl")
    run = cli.run("convert", log, "--out", tmp / "rot.nwb", "--sinks", "table")
    assert run.returncode == 0 and (tmp / "rot_01.nwb").exists(), run.describe()
    (tmp / "rot_02.nwb").write_bytes(b"someone else's file")
    # now without the table: one file; the old rot_01.nwb (ours, same identifier) goes, rot_02 stays
    run = cli.run("convert", small_log(tmp / "rot.jsonl"), "--out", tmp / "rot.nwb", "--overwrite")
    assert run.returncode == 0, run.describe()
    assert not (tmp / "rot_01.nwb").exists()
    assert (tmp / "rot_02.nwb").read_bytes() == b"someone else's file"
    assert rows(tmp / "rot.nwb") == 5


def convert_never_rotates_onto_a_file_not_its_own(cli: Cli, tmp: Path) -> None:
    log = rotating_log(tmp / "rot.jsonl")
    (tmp / "rot_01.nwb").write_bytes(b"not ours")
    before = snapshot(tmp)
    run = cli.run("convert", log, "--out", tmp / "rot.nwb", "--sinks", "table")
    assert run.returncode == 1, run.describe()
    assert "rot_01.nwb exists and is not part of the output" in run.output, run.describe()
    assert snapshot(tmp) == before  # no rot.nwb either: all segments or none


def convert_refuses_existing_without_overwrite(cli: Cli, tmp: Path) -> None:
    (tmp / "out.nwb").write_bytes(b"precious")
    run = cli.run("convert", small_log(tmp / "a.jsonl"), "--out", tmp / "out.nwb")
    assert run.returncode == 1 and "already exists; use --overwrite" in run.output, run.describe()
    assert (tmp / "out.nwb").read_bytes() == b"precious"
    no_partials(tmp)


def convert_same_input_twice(cli: Cli, tmp: Path) -> None:
    small_log(tmp / "a.jsonl")
    run = cli.run("convert", "a.jsonl", "./a.jsonl", "--out-dir", "out", cwd=tmp)
    assert run.returncode == 2 and "are the same file" in run.stderr, run.describe()
    assert names(tmp) == {"a.jsonl"}


def convert_input_where_a_segment_would_go(cli: Cli, tmp: Path) -> None:
    small_log(tmp / "s.jsonl")
    small_log(tmp / "s_01.jsonl")
    run = cli.run("convert", "s.jsonl", "s_01.jsonl", "--out-dir", ".", "--sinks", "table", cwd=tmp)
    assert run.returncode == 2 and "could collide" in run.stderr, run.describe()
    assert names(tmp) == {"s.jsonl", "s_01.jsonl"}


def convert_out_is_a_folder(cli: Cli, tmp: Path) -> None:
    (tmp / "dir").mkdir()
    run = cli.run("convert", small_log(tmp / "a.jsonl"), "--out", tmp / "dir", "--overwrite")
    assert run.returncode == 2 and "is a folder" in run.stderr and "EISDIR" not in run.output, run.describe()
    assert list((tmp / "dir").iterdir()) == []


def convert_disk_full(cli: Cli, tmp: Path) -> None:
    mnt = tmp / "small"
    mnt.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if m.returncode != 0:
        pytest.fail(f"this test needs to mount a 1 MiB tmpfs (run as root): {m.stderr.strip()}", pytrace=False)
    try:
        # the previous output: a small real recording
        assert cli.run("convert", small_log(tmp / "old.jsonl"), "--out", mnt / "run.nwb").returncode == 0
        old = sha(mnt / "run.nwb")
        big = write_log(tmp / "big.jsonl", [event(i + 1, 1000.0 + i, "A", {"blob": f"{i:08d}" + "x" * 4000}) for i in range(400)])
        run = cli.run("convert", big, "--out", mnt / "run.nwb", "--overwrite")
        assert run.returncode == 1, run.describe()
        assert re.search(r"no space left on device", run.output, re.I), run.describe()
        assert "ENOSPC" not in run.output, run.describe()
        assert sha(mnt / "run.nwb") == old, "the previous file was changed"
        assert names(mnt) == {"run.nwb"}, names(mnt)  # no partial file
        assert rows(mnt / "run.nwb") == 5
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def convert_worker_out_of_memory(cli: Cli, tmp: Path) -> None:
    # INITIAL events are held until the startup snapshot ends (the sentinel), to be written sorted:
    # 40,000 of them without a sentinel outgrow a 64 MiB worker heap, allocation by allocation.
    huge = tmp / "huge.jsonl"
    with huge.open("w", encoding="utf-8") as f:
        for i in range(40_000):
            e = event(i + 1, 1000.0 + i, f"C{i}", {"s": f"{i:06d}" + "y" * 2000}, kind="INITIAL")
            e["repr_value"] = "r"
            f.write(json.dumps(e) + "\n")
    good = small_log(tmp / "good.jsonl")
    run = cli.run("convert", huge, good, "--out-dir", tmp / "out", "--max-memory", "64", "--jobs", "1")
    assert run.returncode == 1, run.describe()
    assert re.search(r"FAILED\s+\S*huge\.jsonl: ran out of memory", run.stdout), run.describe()
    assert re.search(r"OK\s+\S*good\.jsonl", run.stdout), run.describe()
    assert "2 input(s): 1 ok, 1 failed" in run.stdout, run.describe()
    assert names(tmp / "out") == {"good.nwb"}
    assert rows(tmp / "out" / "good.nwb") == 5


def convert_line_over_a_small_heap(cli: Cli, tmp: Path) -> None:
    # one 40 MB value: the line limit follows the worker heap (a quarter of it), so it is a bad line, not a crash
    log = tmp / "big.jsonl"
    big = event(2, 1001.0, "A", {"s": "y" * 40_000_000})
    big["repr_value"] = "r"
    log.write_text(json.dumps(event(1, 1000.0, "A", {"v": 1.5})) + "\n" + json.dumps(big) + "\n", encoding="utf-8")
    run = cli.run("convert", log, "--out", tmp / "big.nwb", "--max-memory", "64")
    assert run.returncode == 1, run.describe()
    assert re.search(r"big\.jsonl:2: line is \d+ bytes, longer than the limit of 16 MiB", run.output), run.describe()
    assert rows(tmp / "big.nwb") == 1


def convert_line_over_the_limit(cli: Cli, tmp: Path) -> None:
    log = tmp / "long.jsonl"
    with log.open("w", encoding="utf-8") as f:
        f.write(json.dumps(event(1, 1000.0, "A", {"v": 1.5})) + "\n")
        f.write('{"seq": 2, "structured_value": "' + "z" * (65 * 1024 * 1024) + '"}\n')
        f.write(json.dumps(event(3, 1002.0, "A", {"v": 2.5})) + "\n")
    run = cli.run("convert", log, "--out", tmp / "long.nwb")
    assert run.returncode == 1, run.describe()
    assert re.search(r"long\.jsonl:2: line is \d+ bytes, longer than the limit of 64 MiB", run.output), run.describe()
    assert "PARTIAL" in run.stdout and "fatal" not in run.output.lower(), run.describe()
    assert rows(tmp / "long.nwb") == 2


def convert_array_over_the_limit(cli: Cli, tmp: Path) -> None:
    log = write_log(tmp / "arr.jsonl", [event(1, 1000.0, "A", {"v": 1.5}), event(2, 1001.0, "A", {"a": [0] * 1_000_001}), event(3, 1002.0, "A", {"v": 2.5})])
    run = cli.run("convert", log, "--out", tmp / "arr.nwb")
    assert run.returncode == 1 and re.search(r"arr\.jsonl:2: .*more than 1000000 items in one array", run.output), run.describe()
    assert rows(tmp / "arr.nwb") == 2


def convert_interrupted(cli: Cli, tmp: Path) -> None:
    small = small_log(tmp / "a_small.jsonl")
    big = write_log(tmp / "b_big.jsonl", [event(i + 1, 1000.0 + i * 0.01, "A", {"g": i + 0.5, "s": "x" * 200}) for i in range(150_000)])
    out = tmp / "out"
    p = spawn(["convert", str(small), str(big), "--out-dir", str(out), "--jobs", "1"], tmp)
    deadline = time.time() + 60
    while not (out / "a_small.nwb").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (out / "a_small.nwb").exists(), "the small input was not converted"
    time.sleep(1.0)  # the big one is being written now
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, stdout, stderr)
    assert re.search(r"FAILED\s+\S*b_big\.jsonl: interrupted", stdout), stdout
    assert names(out) == {"a_small.nwb"}, names(out)  # finished stays, unfinished leaves nothing
    assert rows(out / "a_small.nwb") == 5


def recover_given_a_folder(cli: Cli, tmp: Path) -> None:
    run = cli.run("recover", tmp)
    assert run.returncode == 2 and "is a folder, not a journal" in run.stderr and "EISDIR" not in run.output, run.describe()


def recover_given_the_nwb_file(cli: Cli, tmp: Path) -> None:
    journal = write_journal(tmp / "rec.nwb", pipeline_events(), close_time=100.0)
    assert cli.run("recover", journal).returncode == 0
    run = cli.run("recover", tmp / "rec.nwb")
    assert run.returncode == 2 and "is an NWB file, not its journal" in run.stderr and "rec.nwb.journal.jsonl" in run.stderr, run.describe()


def recover_missing_journal(cli: Cli, tmp: Path) -> None:
    run = cli.run("recover", tmp / "nope.nwb.journal.jsonl")
    assert run.returncode == 2 and "no such file" in run.stderr and "ENOENT" not in run.output, run.describe()


def recover_refuses_files_ahead_of_a_short_journal(cli: Cli, tmp: Path) -> None:
    events = pipeline_events()
    journal = write_journal(tmp / "rec.nwb", events, close_time=100.0)
    assert cli.run("recover", journal).returncode == 0
    full = rows(tmp / "rec.nwb")
    write_journal(tmp / "rec.nwb", events[: len(events) // 2])  # the journal lost its second half
    before = snapshot(tmp)
    run = cli.run("recover", journal, "--overwrite")
    assert run.returncode == 1, run.describe()
    assert "ahead of its journal" in run.output and "holds more than its journal" in run.output, run.describe()
    assert snapshot(tmp) == before
    assert rows(tmp / "rec.nwb") == full
    check = cli.run("recover", journal, "--check")
    assert check.returncode == 1 and "ahead" in check.stdout, check.describe()


def recover_check_compares_values(cli: Cli, tmp: Path) -> None:
    events = pipeline_events()
    journal = write_journal(tmp / "rec.nwb", events, close_time=100.0)
    assert cli.run("recover", journal).returncode == 0
    assert cli.run("recover", journal, "--check").returncode == 0
    # same number of events and rows, one value different
    changed = [dict(e) for e in events]
    k = next(i for i, e in enumerate(changed) if e["event_type"] == "UPDATED")
    sv = dict(changed[k]["structured_value"])
    key = next(iter(sv))
    sv[key] = "edited after the fact"
    changed[k]["structured_value"] = sv
    write_journal(tmp / "rec.nwb", changed, close_time=100.0)
    before = snapshot(tmp)
    run = cli.run("recover", journal, "--check")
    assert run.returncode == 1, run.describe()
    assert re.search(r"damaged \(rec\.nwb: .*\[\d+\] is .*the journal implies", run.stdout), run.describe()
    assert snapshot(tmp) == before


def recover_refuses_a_live_recording(cli: Cli, tmp: Path) -> None:
    journal = write_journal(tmp / "rec.nwb", pipeline_events())  # no clean close
    holder = subprocess.Popen([NODE, "-e", "setTimeout(() => {}, 60000)"])
    try:
        header, rest = journal.read_text(encoding="utf-8").split("\n", 1)
        h = json.loads(header)
        h["writer"] = {"pid": holder.pid, "host": socket.gethostname()}
        journal.write_text(json.dumps(h) + "\n" + rest, encoding="utf-8")
        run = cli.run("recover", journal)
        assert run.returncode == 1 and f"still being recorded by process {holder.pid}" in run.output, run.describe()
        assert names(tmp) == {"rec.nwb.journal.jsonl"}
    finally:
        holder.kill()
        holder.wait()
    run = cli.run("recover", journal)  # the writer is gone: a crashed recording, rebuilt
    assert run.returncode == 0 and "rebuilt" in run.stdout, run.describe()


def record_busy_port(cli: Cli, tmp: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        port = s.getsockname()[1]
        run = cli.run("record", "--out", tmp / "r.nwb", "--hub-port", str(port))
        assert run.returncode == 1, run.describe()
        assert f"port {port} is already in use" in run.stderr and "--hub-port 0" in run.stderr and "EADDRINUSE" not in run.output, run.describe()
        assert names(tmp) == set()
    finally:
        s.close()


def record_keeps_previous_recording_when_start_fails(cli: Cli, tmp: Path) -> None:
    (tmp / "r.nwb").write_bytes(b"previous recording")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        run = cli.run("record", "--out", tmp / "r.nwb", "--overwrite", "--hub-port", str(s.getsockname()[1]))
        assert run.returncode == 1, run.describe()
        assert (tmp / "r.nwb").read_bytes() == b"previous recording"
    finally:
        s.close()


def record_empty_recording_leaves_no_journal(cli: Cli, tmp: Path) -> None:
    p = spawn(["record", "--out", str(tmp / "e.nwb"), "--hub-port", "0"], tmp)
    deadline = time.time() + 30
    while not (tmp / "e.nwb.journal.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=30)
    assert p.returncode == 0, (stdout, stderr)
    assert "no file written" in stdout and "journal was removed" in stdout, stdout
    assert names(tmp) == set()


def demo_killed_keeps_previous_demo(cli: Cli, tmp: Path) -> None:
    assert cli.run("demo", "--out", tmp / "demo.nwb", "--seconds", "0.5").returncode == 0
    old = sha(tmp / "demo.nwb")
    p = spawn(["demo", "--out", str(tmp / "demo.nwb"), "--seconds", "30"], tmp)
    deadline = time.time() + 30
    while not any(n.endswith(".partial.nwb") for n in names(tmp)) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    p.kill()
    p.communicate(timeout=30)
    assert sha(tmp / "demo.nwb") == old
    assert {n for n in names(tmp) if not n.startswith(".")} == {"demo.nwb"}
    assert rows(tmp / "demo.nwb") > 0


CASES: dict[str, Callable[[Cli, Path], None]] = {f.__name__: f for f in [
    convert_out_is_input,
    convert_out_is_input_by_another_name,
    convert_keeps_unrelated_files_named_like_segments,
    convert_removes_its_own_stale_segments_only,
    convert_never_rotates_onto_a_file_not_its_own,
    convert_refuses_existing_without_overwrite,
    convert_same_input_twice,
    convert_input_where_a_segment_would_go,
    convert_out_is_a_folder,
    convert_disk_full,
    convert_worker_out_of_memory,
    convert_line_over_the_limit,
    convert_line_over_a_small_heap,
    convert_array_over_the_limit,
    convert_interrupted,
    recover_given_a_folder,
    recover_given_the_nwb_file,
    recover_missing_journal,
    recover_refuses_files_ahead_of_a_short_journal,
    recover_check_compares_values,
    recover_refuses_a_live_recording,
    record_busy_port,
    record_keeps_previous_recording_when_start_fails,
    record_empty_recording_leaves_no_journal,
    demo_killed_keeps_previous_demo,
]}


@pytest.mark.parametrize("case", list(CASES))
def test_output_safety(cli: Cli, tmp_path: Path, case: str) -> None:
    CASES[case](cli, tmp_path)


# Wrong calls: exit 2, a plain message, nothing written.
WRONG_CALLS = [
    (["convert", "{log}", "--out", "{tmp}/x.nwb", "--sinks", "foo"], r'unknown sink "foo"'),
    (["convert", "{log}", "--out-dir", "{tmp}/o", "--jobs"], r"--jobs needs a value"),
    (["convert", "{log}", "--out-dir", "{tmp}/o", "--jobs", "0"], r"--jobs needs a whole number"),
    (["convert", "-", "--out", "{tmp}/x.nwb"], r"standard input"),
    (["record", "--out", "{tmp}/x.nwb", "--hub-port", "-1"], r"--hub-port needs a TCP port number"),
    (["record", "--out", "{tmp}/x.nwb", "--hub-port", "abc"], r"--hub-port needs a TCP port number"),
    (["record", "--out", "{tmp}/x.nwb", "--flush-interval", "0"], r"--flush-interval needs a whole number"),
    (["record", "--out", "{tmp}/x.nwb", "--source", "ws://host:notaport"], r"is not a settings source"),
    (["record", "--out", "{tmp}/x.nwb", "--source", "ws://127.0.0.1:"], r"no usable port"),
    (["record", "--out", "{tmp}", "--hub-port", "0"], r"is a folder"),
    (["demo", "--out", "{tmp}/d.nwb", "--seconds", "3000000"], r"--seconds needs a number of seconds above 0 and at most 86400"),
    (["demo", "--out", "{tmp}/d.nwb", "--seconds", "-1"], r"--seconds needs a number"),
    (["hub", "--port", "70000"], r"--port needs a TCP port number"),
    (["recover", "{tmp}/j.journal.jsonl", "--check", "--overwrite"], r"--check only reads"),
]


@pytest.mark.parametrize("args,message", WRONG_CALLS, ids=[" ".join(a) for a, _ in WRONG_CALLS])
def test_wrong_calls_exit_2_with_a_plain_message(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    log = small_log(tmp_path / "in.jsonl")
    argv = [a.replace("{log}", str(log)).replace("{tmp}", str(tmp_path)) for a in args]
    run = cli.run(*argv)
    assert run.returncode == 2, run.describe()
    assert re.search(message, run.stderr), run.describe()
    assert not re.search(r"EEXIST|ENOENT|EISDIR|EADDRINUSE|Invalid URL|NaN", run.output), run.describe()
    assert names(tmp_path) == {"in.jsonl"}, names(tmp_path)
