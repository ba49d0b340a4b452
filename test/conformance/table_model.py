"""Independent Python model of the typed-column table (docs/table-sink.md), computed from the events
alone (never from our output), and the checks every written table must pass.

Rules modelled:
- INITIALs before the table exists are merged (a setting's later value wins; settings that flatten
  to nothing are ignored). The sentinel, the first UPDATED or the close opens the merged state as
  the first row, from the first buffered INITIAL's time (arrival order), "__init_final__".
- A first event with nothing buffered opens the first row at its time, for its component.
- A later event at a time after the open row's start ends that row there and opens a new one with
  the merged state; one at (or before: out of time order) the open row's start is merged into the
  open row in place (start and component kept): no zero-length row.
- A float64 column takes an integer within +-2^53 (and an int array of its shape) as float. Any
  other change of kind (dtype or shape) or a new column starts a new segment: the old segment's open
  row ends at the event's time (or, at the same instant, is dropped; a segment left empty is gone),
  the new segment opens with the merged state.
- The last row ends at the close time when that is after its start, else its end is unknown (NaN).

Kinds come from numpy (np.array) for lists, independently of our sanitizer's code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

SENTINEL = "__init_final__"
EXACT = 2**53
UNKNOWN = object()  # a cell whose stored form this model does not predict (JSON text of odd lists)


def sanitize(name: str) -> str:
    """Column name rule of docs/values.md."""
    s = re.sub(r"[^0-9A-Za-z_]+", ".", name).strip("_")
    if not s or set(s) == {"."}:
        return "setting"
    if s[0].isdigit():
        s = "setting_" + s
    return s


def flatten(component: str, value: Any) -> list[tuple[str, Any]]:
    """A mapping becomes dotted columns, anything else one `<component>.value` column."""
    if not isinstance(value, dict):
        return [(sanitize(f"{component}.value"), value)]
    out: list[tuple[str, Any]] = []

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}.{k}", x)
        else:
            out.append((sanitize(prefix), v))

    walk(component, value)
    return out


def kind(v: Any) -> tuple[str, tuple]:
    """(dtype, cell shape) the table stores a value as."""
    if isinstance(v, bool):
        return ("bool", ())
    if isinstance(v, int):
        return ("int64", ()) if -(2**63) <= v < 2**63 else ("str", ())
    if isinstance(v, float):
        return ("float64", ())
    if isinstance(v, list):
        if len(v) == 0:
            return ("float64", (0,))
        try:
            a = np.array(v)
        except (ValueError, OverflowError):
            return ("str", ())
        if a.dtype.kind == "b":
            return ("bool", a.shape)
        if a.dtype.kind == "i":
            return ("int64", a.shape)
        if a.dtype.kind == "f":
            return ("float64", a.shape)
        if a.dtype.kind == "U":
            return ("str", a.shape)
        return ("str", ())
    return ("str", ())  # str, None ("None"), anything else as text


def stored(v: Any) -> Any:
    """The value as it reads back (plain Python), where this model knows it."""
    if v is None:
        return "None"
    if isinstance(v, list):
        k = kind(v)
        if k[0] == "str" and k[1] == ():
            return UNKNOWN
        if k[0] != "str" and len(v) > 0:
            return np.array(v).tolist()  # numpy's promotion: [1.5, 2] -> [1.5, 2.0]
    return v


def widen(column: tuple[str, tuple], v: Any) -> Any:
    """An integer (array) for a float64 column of its shape, exactly representable, as float(s)."""
    if column[0] != "float64":
        return v
    k = kind(v)
    if k[0] != "int64" or k[1] != column[1]:
        return v
    if isinstance(v, int):
        return float(v) if abs(v) <= EXACT else v
    flat = np.array(v).reshape(-1)
    if any(abs(int(n)) > EXACT for n in flat):
        return v
    return np.array(v, dtype=np.float64).tolist()


@dataclass
class Row:
    start: float
    stop: Optional[float]  # NaN: end unknown; None: "the close time" when the caller has none
    component: str
    state: dict[str, Any]


@dataclass
class Segment:
    columns: list[str]
    kinds: dict[str, tuple]
    rows: list[Row] = field(default_factory=list)


def model_table(events: list[tuple[str, str, float, Any]], close: Optional[float]) -> list[Segment]:
    """events: (event_type, component, time, settings) in arrival order, sentinel included.
    close: the close time, or None when unknown (the last row's stop is then None)."""
    segments: list[Segment] = []
    state: dict[str, Any] = {}
    pending: Optional[tuple[float, dict[str, Any]]] = None
    since: Optional[float] = None
    opener = ""

    def open_row(t: float, comp: str) -> None:
        nonlocal since, opener
        segments[-1].rows.append(Row(t, math.nan, comp, dict(state)))
        since, opener = t, comp

    def open_segment(s: dict[str, Any], t: float, comp: str) -> None:
        nonlocal state
        state = dict(s)
        segments.append(Segment(list(s), {c: kind(v) for c, v in s.items()}))
        open_row(t, comp)

    def flush_pending() -> None:
        nonlocal pending
        if pending is not None:
            first, s = pending
            pending = None
            open_segment(s, first, SENTINEL)

    for etype, comp, t, value in events:
        if comp == SENTINEL:
            flush_pending()
            continue
        flat = dict(flatten(comp, value))  # a later duplicate name wins (no collisions in our inputs)
        if not flat:
            continue
        if etype == "INITIAL" and not segments:
            if pending is None:
                pending = (t, {})
            pending[1].update(flat)
            continue
        flush_pending()
        if not segments:
            open_segment(flat, t, comp)
            continue
        seg = segments[-1]
        flat = {c: (widen(seg.kinds[c], v) if c in seg.kinds else v) for c, v in flat.items()}
        same = t <= since
        if any(c not in seg.kinds or kind(v) != seg.kinds[c] for c, v in flat.items()):
            merged = {**state, **flat}
            start, who = (since, opener) if same else (t, comp)
            if same:
                seg.rows.pop()
                if not seg.rows:
                    segments.pop()
            else:
                seg.rows[-1].stop = t
            open_segment(merged, start, who)
            continue
        state.update(flat)
        if same:
            seg.rows[-1].state = dict(state)
            continue
        seg.rows[-1].stop = t
        open_row(t, comp)
    flush_pending()
    if segments:
        last = segments[-1].rows[-1]
        last.stop = None if close is None else (close if close > last.start else math.nan)
    return segments


def interval_problems(starts: list[float], stops: list[float], last_segment: bool) -> list[str]:
    """The row rules every table must keep: no row with stop <= start; start times strictly rising;
    a NaN stop (unknown end) only on the very last row of the output."""
    out = []
    for i, (a, b) in enumerate(zip(starts, stops)):
        if math.isnan(b):
            if not (last_segment and i == len(starts) - 1):
                out.append(f"row {i}: stop_time NaN on a row that is not the output's last")
        elif not b > a:
            out.append(f"row {i}: stop_time {b} <= start_time {a}")
    for i in range(1, len(starts)):
        if not starts[i] > starts[i - 1]:
            out.append(f"row {i}: start_time {starts[i]} not after the previous row's {starts[i - 1]}")
    return out
