"""Independent Python model of what `convert --sinks annotations` must write, computed from the JSONL
input by the rules of the CLI contract (never from our own output):

- Input: one event object per line; blank lines ignored; Python's `json` module parses it (so NaN,
  Infinity and big ints behave as Python writes them). A line that is not a valid event is "bad":
  it is reported and skipped, the other events are kept.
- One AnnotationSeries per distinct `table_name` (default `settings_annotations`); one row per
  event except the `__init_final__` sentinel.
- Row text = JSON {"component", "event_type", "seq", "settings": structured_value if not null
  else repr_value}.
- INITIAL events are held until the sentinel, the next non-INITIAL event or the end of the log,
  then written sorted by (event time, seq), stably; other events in arrival order. (The held run
  is one run across all tables: the sentinel ends the startup snapshot of the whole log.)
- Stored time = max(previous stored time of the same series, event time); when it differs from the
  event time, the JSON also has "timestamp": event time.
- Event time: first-event (default) = timestamp - t0 with t0 the smallest timestamp of any valid
  event in the log (the sentinel included); raw = timestamp.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

SENTINEL = "__init_final__"
DEFAULT_TABLE = "settings_annotations"


@dataclass
class Event:
    line: int
    seq: int
    timestamp: float
    component_address: str
    event_type: str
    repr_value: Any
    structured_value: Optional[dict]
    source_session_id: Optional[str]
    table_name: str


@dataclass
class Log:
    events: list[Event] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # 1-based line numbers of malformed lines


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _event(obj: Any, line: int) -> Optional[Event]:
    if not isinstance(obj, dict):
        return None
    ok = (
        _is_int(obj.get("seq"))
        and 0 <= obj["seq"] < 2**53  # the contract: seq is a counter below 2^53 (docs/event-log.md)
        and _is_number(obj.get("timestamp"))
        and isinstance(obj.get("component_address"), str)
        and obj.get("event_type") in ("INITIAL", "UPDATED")
        and isinstance(obj.get("repr_value"), (str, dict))
        and (obj.get("structured_value") is None or isinstance(obj.get("structured_value"), dict))
        and (obj.get("source_session_id") is None or isinstance(obj.get("source_session_id"), str))
        and isinstance(obj.get("table_name", DEFAULT_TABLE), str)
    )
    if not ok:
        return None
    return Event(
        line=line,
        seq=obj["seq"],
        timestamp=float(obj["timestamp"]),
        component_address=obj["component_address"],
        event_type=obj["event_type"],
        repr_value=obj["repr_value"],
        structured_value=obj.get("structured_value"),
        source_session_id=obj.get("source_session_id"),
        table_name=obj.get("table_name", DEFAULT_TABLE),
    )


def parse_log(path: str | Path) -> Log:
    log = Log()
    text = Path(path).read_text(encoding="utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    for i, raw in enumerate(text.split("\n"), start=1):
        if raw.strip() == "":
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            log.bad_lines.append(i)
            continue
        ev = _event(obj, i)
        if ev is None:
            log.bad_lines.append(i)
        else:
            log.events.append(ev)
    return log


@dataclass
class Row:
    time: float  # stored timestamp
    payload: dict  # the row's JSON object, as Python values

    def text(self) -> str:
        """The row as JSON text, the way Python writes it (NaN/Infinity as Python spells them)."""
        return json.dumps(self.payload, ensure_ascii=False)


def t0(log: Log) -> Optional[float]:
    return min((e.timestamp for e in log.events), default=None)


def expected_series(log: Log, time_origin: str = "first-event") -> dict[str, list[Row]]:
    """table_name -> expected rows, in file order, by the rules in this module's docstring."""
    if time_origin not in ("first-event", "raw"):
        raise ValueError(time_origin)
    origin = t0(log) if time_origin == "first-event" else 0.0

    def event_time(e: Event) -> float:
        return e.timestamp - origin if time_origin == "first-event" else e.timestamp

    series: dict[str, list[Row]] = {}
    last: dict[str, float] = {}
    held: list[Event] = []

    def write(e: Event) -> None:
        t = event_time(e)
        stored = max(last.get(e.table_name, -math.inf), t)
        payload: dict[str, Any] = {
            "component": e.component_address,
            "event_type": e.event_type,
            "seq": e.seq,
            "settings": e.structured_value if e.structured_value is not None else e.repr_value,
        }
        if stored != t:
            payload["timestamp"] = t
        series.setdefault(e.table_name, []).append(Row(stored, payload))
        last[e.table_name] = stored

    def drain() -> None:
        nonlocal held
        run, held = held, []
        for e in sorted(run, key=lambda e: (event_time(e), e.seq)):  # sorted() is stable
            write(e)

    for e in log.events:
        if e.component_address == SENTINEL:
            drain()
        elif e.event_type == "INITIAL":
            held.append(e)
        else:
            drain()
            write(e)
    drain()
    return series


# ---------------------------------------------------------------------------------------------------
# semantic JSON comparison
# ---------------------------------------------------------------------------------------------------


def json_diff(ours: Any, expected: Any, where: str = "$") -> list[str]:
    """Differences between two parsed JSON values, strictly typed: int vs float vs bool are different
    (1 != 1.0, True != 1), NaN equals NaN, object key order is ignored, array order is not."""
    if isinstance(expected, bool) or isinstance(ours, bool):
        if type(ours) is not type(expected) or ours != expected:
            return [f"{where}: {ours!r} ({type(ours).__name__}) != expected {expected!r} ({type(expected).__name__})"]
        return []
    if isinstance(expected, float) and isinstance(ours, float):
        if math.isnan(ours) and math.isnan(expected):
            return []
        if ours == expected and math.copysign(1.0, ours) == math.copysign(1.0, expected):  # -0.0 is not 0.0
            return []
        return [f"{where}: {ours!r} != expected {expected!r}"]
    if isinstance(expected, dict) and isinstance(ours, dict):
        out = []
        for k in expected.keys() - ours.keys():
            out.append(f"{where}: missing key {k!r} (expected {expected[k]!r})")
        for k in ours.keys() - expected.keys():
            out.append(f"{where}: unexpected key {k!r} = {ours[k]!r}")
        for k in expected.keys() & ours.keys():
            out += json_diff(ours[k], expected[k], f"{where}.{k}")
        return out
    if isinstance(expected, list) and isinstance(ours, list):
        if len(ours) != len(expected):
            return [f"{where}: array length {len(ours)} != expected {len(expected)}: {ours!r} vs {expected!r}"]
        out = []
        for i, (a, b) in enumerate(zip(ours, expected)):
            out += json_diff(a, b, f"{where}[{i}]")
        return out
    if type(ours) is not type(expected) or ours != expected:
        return [f"{where}: {ours!r} ({type(ours).__name__}) != expected {expected!r} ({type(expected).__name__})"]
    return []
