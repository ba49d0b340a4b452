"""Crash test for `attach` (#11): SIGKILL at 20 seeded random instants across the whole write, per
recording format; afterwards, and after the next run, every recording is byte-identical to the
original or complete and valid. Kills run 4 at a time (each on its own copy of the recording).

The instants, seeded: calibration runs (as many at once as the trials run) measure how long the
write takes, from its start (the copy) to the replacement being done. Half the trials kill at a
uniform random instant of that span after the write began; a quarter at a random instant within
20 ms of the attach announcing the fsync of its copy, and a quarter within 5 ms of it announcing the
rename (the instants around the one step that touches the recording's name).

Checks: a recording byte-identical to the original needs none. Every other one (complete after the
kill, or after the next run) is read by pynwb with its settings rows exact and every pre-existing
object's data and attributes identical; pynwb's validator runs on each recording a kill left
complete and on the calibration output (the next run writes the same way as an uninterrupted run).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import nwbcheck
from attach_recordings import VARIANTS, make_recording, snapshot, write_settings_log
from conftest import BIN, NODE

SEED = 20261201
TRIALS = int(os.environ.get("NWB_SETTINGS_ATTACH_CRASH_TRIALS", "20"))
PARALLEL = 4
EVENTS = 200
OURS = ("/acquisition/settings_annotations", "/intervals/pipeline_settings")
ENV = {**os.environ, "NWB_SETTINGS_ATTACH_TRACE": "1"}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def attach_args(rec: Path, log: Path) -> list[str]:
    return [NODE, str(BIN), "attach", str(rec), str(log), "--sinks", "annotations,table"]


def timed_run(rec: Path, log: Path) -> float:
    """A whole attach; returns seconds from the start of the write ('copy') to 'done'."""
    p = subprocess.Popen(attach_args(rec, log), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=ENV)
    marks = {}
    for line in p.stderr:
        if line.startswith("attach-phase "):
            marks[line.split()[1]] = time.monotonic()
    assert p.wait(timeout=300) == 0
    return marks["done"] - marks["copy"]


def killed_run(rec: Path, log: Path, at: str, delay: float) -> str:
    """Start an attach, SIGKILL it `delay` s after it announced phase `at`; returns the last phase it reached."""
    p = subprocess.Popen(attach_args(rec, log), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=ENV)
    phases: list[str] = []
    locked = threading.Event()

    def read() -> None:
        for line in p.stderr:
            if line.startswith("attach-phase "):
                phases.append(line.split()[1])
                if phases[-1] == at:
                    locked.set()
        locked.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    locked.wait(timeout=120)
    time.sleep(delay)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        killed = True
    else:
        killed = False
    p.wait(timeout=60)
    reader.join(timeout=10)
    last = phases[-1] if phases else "start"
    return f"{last}" if killed else "exited"


def check_complete(args: tuple[str, str, list[float], bool]) -> str:
    """'' when the recording is complete (and, with `full`, valid), else what is wrong."""
    path, original, expected_ts, full = args
    try:
        before = snapshot(Path(original))
        after = snapshot(Path(path), exclude=OURS)
        changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k) and not k.startswith("/intervals@")]
        if changed:
            return f"{path}: pre-existing objects changed: {sorted(changed)[:5]}"
        c = nwbcheck.read(path)
        ts = list(c.acquisition["settings_annotations"].timestamps)
        if ts != expected_ts:
            return f"{path}: {len(ts)} settings rows, expected {len(expected_ts)}"
        if len(c.intervals["pipeline_settings"].ids) == 0:
            return f"{path}: empty settings table"
        errors = nwbcheck.validate(path) if full else []
        return f"{path}: {errors[:3]}" if errors else ""
    except Exception as exc:  # unreadable: exactly what must never happen
        return f"{path}: {type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("attach-crash")
    log = root / "settings.jsonl"
    rels = [-1.0, -0.5] + [i * 0.01 for i in range(EVENTS - 2)]
    events = write_settings_log(log, relative_times=rels)
    expected_ts = [round(max(e["rel"], 0.0), 6) for e in events if e["component_address"] != "__init_final__"]
    originals = {v: make_recording(root / f"{v}.orig.nwb", v) for v in VARIANTS}
    # The write's span under the same load as the trials: PARALLEL calibration runs at once (the
    # variants' writes differ by a copy of a few hundred KB).
    calibs = []
    for i in range(PARALLEL):
        (root / f"calibration{i}").mkdir()
        calibs.append(Path(shutil.copyfile(originals["default"], root / f"calibration{i}" / "rec.nwb")))
    with ThreadPoolExecutor(PARALLEL) as pool:
        spans = sorted(pool.map(lambda r: timed_run(r, log), calibs))
    return root, log, originals, expected_ts, spans[len(spans) // 2], calibs[0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_kill_at_any_instant_leaves_the_recording_identical_or_complete(setup, variant):
    root, log, originals, expected_ts = setup[:4]
    original = originals[variant]
    digest = sha(original)
    work = root / variant
    work.mkdir()
    span, calibration = setup[4], setup[5]
    t0 = time.monotonic()

    rng = random.Random(f"{SEED}-{variant}")
    plan = []
    for i in range(TRIALS):
        kind = i % 4
        plan.append(("copy", rng.uniform(0, span)) if kind < 2 else ("sync", rng.uniform(0, 0.02)) if kind == 2 else ("replace", rng.uniform(0, 0.005)))
    recs = []
    for i in range(TRIALS):
        d = work / f"t{i:02d}"
        d.mkdir()
        shutil.copyfile(original, d / "rec.nwb")
        recs.append(d / "rec.nwb")
    with ThreadPoolExecutor(PARALLEL) as pool:
        phases = list(pool.map(lambda a: killed_run(*a), [(r, log, at, t) for r, (at, t) in zip(recs, plan)]))

    t_kills = time.monotonic() - t0
    identical = [sha(r) == digest for r in recs]
    leftovers = [any(n.name.endswith(".partial") for n in r.parent.iterdir()) for r in recs]
    after_kill = {r: sha(r) for r in recs}

    # The next run: one batch over every trial. A recording left as it was gets its settings (and
    # its leftover copy is removed); one already complete is refused and left unchanged.
    manifest = work / "manifest.csv"
    manifest.write_text("".join(f"{r},{log}\n" for r in recs))
    nxt = subprocess.run([NODE, str(BIN), "attach", "--manifest", str(manifest), "--sinks", "annotations,table", "--jobs", "2"], capture_output=True, text=True, timeout=600)
    t_next = time.monotonic() - t0 - t_kills
    status = {l.split()[1]: l.split()[0] for l in nxt.stdout.splitlines() if l[:2] in ("OK", "RE", "FA", "PA")}
    problems = []
    for r, same, left in zip(recs, identical, leftovers):
        want = "OK" if same else "REFUSED"
        if status.get(str(r)) != want:
            problems.append(f"{r}: next run {status.get(str(r))}, expected {want}")
        if not same and sha(r) != after_kill[r]:
            problems.append(f"{r}: the next run changed a complete recording")
        if any(n.name.endswith(".partial") for n in r.parent.iterdir()):
            problems.append(f"{r}: a staged copy is still there after the next run")
        if left and f"removed {r.parent}" not in nxt.stderr.replace(f"{r}: removed ", f"removed "):
            problems.append(f"{r}: the next run did not report the leftover it removed")
    # Every recording is now complete and valid (2 checkers at a time).
    from multiprocessing import get_context

    with get_context("spawn").Pool(2) as pool:
        jobs = [(str(r), str(original), expected_ts, not same) for r, same in zip(recs, identical)]
        if variant == "default":
            jobs.append((str(calibration), str(original), expected_ts, True))
        problems += [p for p in pool.map(check_complete, jobs) if p]

    t_check = time.monotonic() - t0 - t_kills - t_next
    counts = Counter(phases)
    summary = (
        f"{variant}: {TRIALS} kills over {span:.2f} s (phase at kill: {dict(counts)}); "
        f"byte-identical {sum(identical)}, complete {TRIALS - sum(identical)}, leftover copies {sum(leftovers)}; "
        f"after the next run: {TRIALS - len([p for p in problems])} of {TRIALS} complete and valid "
        f"(kills {t_kills:.0f} s, next run {t_next:.0f} s, checks {t_check:.0f} s)"
    )
    print(summary, flush=True)
    report = os.environ.get("NWB_SETTINGS_ATTACH_CRASH_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(summary + "\n")
    assert problems == [], summary + "\n" + "\n".join(problems) + "\n" + nxt.stdout + nxt.stderr
