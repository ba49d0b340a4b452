"""Hostile input at the JSONL entry point, checked with pynwb (#5): each hostile line is either
written faithfully (pynwb reads the row and its JSON equals the input's settings, strictly typed)
or rejected as `FILE:LINE: problem`; a canary event after every hostile line always reaches the
file; every output file reads with pynwb (and, for the JSON-row sink, validates).

The table is independent of the TypeScript one (test/unit/hostile/cases.ts) and written the way a
Python producer would write logs (json.dumps), plus hand-made broken bytes."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

import nwbcheck
from expected import json_diff

ACCEPT = "accept"


def ev(n: int, **fields) -> dict:
    e = {
        "seq": n,
        "timestamp": float(n),
        "component_address": "C",
        "event_type": "UPDATED",
        "repr_value": "",
        "structured_value": {"x": 1},
        "source_session_id": None,
    }
    for k, v in fields.items():
        if v is _DROP:
            e.pop(k, None)
        else:
            e[k] = v
    return e


_DROP = object()


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


def line(**fields):
    return lambda n: dumps(ev(n, **fields))


def raw(text: bytes):
    return lambda seq: text


def nested(n: int, leaf=1):
    v = leaf
    for _ in range(n):
        v = {"a": v}
    return v


def nested_list(n: int, leaf=1):
    v = leaf
    for _ in range(n):
        v = [v]
    return v


def with_bytes(seq: int, bad: bytes) -> bytes:
    return dumps(ev(seq, structured_value={"s": "@@"})).replace(b"@@", bad)


# (name, line factory, outcome with annotations, outcome with annotations+table); an outcome is
# ACCEPT or a regex the reported problem must match.
CASES = [
    ("truncated JSON", raw(b'{"seq": 1, "timestamp": '), r"unexpected end of input", None),
    ("not an object", raw(b"[1, 2, 3]"), r"must be a JSON object", None),
    ("seq as text", line(seq="7"), r'"seq" must be', None),
    ("timestamp as text", line(timestamp="1.0"), r'"timestamp" must be', None),
    ("missing component_address", line(component_address=_DROP), r'"component_address" must be a string, got missing', None),
    ("missing event_type", line(event_type=_DROP), r'"event_type"', None),
    ("unknown event type", line(event_type="REMOVED"), r'"event_type" must be "INITIAL" or "UPDATED", got "REMOVED"', None),
    ("NaN timestamp", line(timestamp=math.nan), r'"timestamp" must be a finite number', None),
    ("Infinity timestamp", line(timestamp=math.inf), r'"timestamp" must be a finite number', None),
    ("NaN and infinities in settings", line(structured_value={"n": math.nan, "p": math.inf, "m": -math.inf, "z": -0.0}), ACCEPT, ACCEPT),
    ("ints past int64 in settings", line(structured_value={"a": 2**63, "b": -(2**63) - 1, "c": 10**300}), ACCEPT, ACCEPT),
    ("seq past int64", line(seq=2**64), r'"seq" must be a non-negative integer below 2\^53', None),
    ("1,000-deep mapping", line(structured_value=nested(999)), ACCEPT, ACCEPT),
    ("1,000-deep list", line(structured_value={"l": nested_list(998)}), ACCEPT, ACCEPT),
    ("2,000-deep mapping", line(structured_value=nested(1999)), r"nesting deeper than 1024 levels", None),
    ("10 MB string", line(structured_value={"s": "é" * (5 * 1024 * 1024)}), ACCEPT, ACCEPT),
    ("lone surrogate (json.dumps escape)", lambda seq: json.dumps(ev(seq, structured_value={"s": "\ud800x"})).encode(), ACCEPT, r"lone UTF-16 surrogate"),
    ("invalid UTF-8 byte", lambda seq: with_bytes(seq, b"\xff"), r"not valid UTF-8", None),
    ("CESU-8 surrogate bytes", lambda seq: with_bytes(seq, "\ud800".encode("utf-8", "surrogatepass")), r"not valid UTF-8", None),
    ("NUL in a value", line(structured_value={"s": "a\x00b"}), ACCEPT, r"NUL character"),
    ("address with / . and spaces", line(component_address="SYS/a.b c/"), ACCEPT, ACCEPT),
    ("empty address and key", line(component_address="", structured_value={"": 1}), ACCEPT, ACCEPT),
    ("keys with / . spaces and empty", line(structured_value={"a/b": 1, "a.b": 2, "a b": 3, "": 4, ".": 5}), ACCEPT, ACCEPT),
    ("keys colliding after joining", line(structured_value={"a": {"b": 1}, "a.b": 2}), ACCEPT, ACCEPT),
    ("settings: a number", line(structured_value=5), ACCEPT, ACCEPT),
    ("settings: a list", line(structured_value=[1, "a", None]), ACCEPT, ACCEPT),
    ("settings: text", line(structured_value="Settings(x=1)"), ACCEPT, ACCEPT),
    ("table_name with /", line(table_name="a/b"), r"cannot name an NWB AnnotationSeries", None),
    ("table_name empty", line(table_name=""), r"cannot name an NWB AnnotationSeries", None),
]


def canary(seq: int) -> bytes:
    return dumps(ev(seq, component_address="canary", structured_value={"i": seq}))


def build(tmp: Path) -> tuple[Path, dict[int, tuple]]:
    """The log and line number → (case or None for a canary, seq, the event as Python saw it)."""
    parts: list[bytes] = []
    lines: dict[int, tuple] = {}
    seq = 0
    for case in CASES:
        for kind in ("case", "canary"):
            seq += 1
            data = case[1](seq) if kind == "case" else canary(seq)
            parts.append(data)
            lines[seq] = (case if kind == "case" else None, seq, data)
    log = tmp / "hostile.jsonl"
    log.write_bytes(b"\n".join(parts) + b"\n")
    return log, lines


def settings_of(data: bytes):
    e = json.loads(data.decode("utf-8", "surrogatepass"))
    return e["structured_value"] if e.get("structured_value") is not None else e.get("repr_value", "")


@pytest.fixture(scope="module")
def deep_json():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))  # json.loads of 1,000-deep rows
    yield
    sys.setrecursionlimit(old)


@pytest.mark.parametrize("sinks", ["annotations", "annotations,table"])
def test_hostile_lines_are_written_faithfully_or_rejected(cli, tmp_path, sinks, deep_json):
    log, lines = build(tmp_path)
    out = tmp_path / "out.nwb"
    run = cli.run("convert", log, "--out", out, "--sinks", sinks, "--time-origin", "raw")
    reported = {int(m.group(1)): m.group(2) for m in re.finditer(re.escape(str(log)) + r":(\d+): ([^\n]*)", run.output)}
    segments = sorted(tmp_path.glob("out*.nwb"))
    assert segments, run.describe()
    rows: dict[int, list] = {}
    for seg in segments:
        content = nwbcheck.read(seg)  # pynwb must read every segment
        for name, series in content.acquisition.items():
            if name == "pipeline_settings":
                continue
            for text in series.data:
                row = json.loads(text)
                rows.setdefault(row["seq"], []).append(row)
    failures = []
    for ln, (case, seq, data) in lines.items():
        got = rows.get(seq, [])
        if case is None:
            if ln in reported or len(got) != 1:
                failures.append(f"canary at line {ln} lost: {reported.get(ln)}")
            continue
        name, _, with_ann, with_both = case
        want = with_ann if sinks == "annotations" else (with_both if with_both is not None else with_ann)
        if want == ACCEPT:
            if ln in reported:
                failures.append(f"{name} (line {ln}) rejected: {reported[ln][:200]}")
            elif len(got) != 1:
                failures.append(f"{name}: {len(got)} rows")
            else:
                diff = json_diff(got[0]["settings"], settings_of(data))
                if diff:
                    failures.append(f"{name}: stored settings differ: {diff[:3]}")
        else:
            if ln not in reported or not re.search(want, reported[ln]):
                failures.append(f"{name} (line {ln}): expected a FILE:LINE rejection matching {want!r}, got {reported.get(ln)!r}")
            if got:
                failures.append(f"{name}: rejected but written")
    assert not failures, "\n".join(failures) + "\n" + run.describe()[:3000]
    if sinks == "annotations":
        assert nwbcheck.validate(out) == [], "pynwb validation"
