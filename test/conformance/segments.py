"""Read every segment of a recording (`OUT.nwb`, `OUT_01.nwb`, … — the typed table rotates on new
columns, docs/table-sink.md) with pynwb, one worker process per segment: the JSON rows, the
table's `updated_component` cells and columns, and pynwb's validation errors. Used by the
hostile-input tests, whose recordings have many segments."""

from __future__ import annotations

import json
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERIES = "settings_annotations"
TABLE = "pipeline_settings"


@dataclass
class Recording:
    segments: list[Path]
    rows: list[dict] = field(default_factory=list)  # JSON rows of every segment, in order
    table_components: list[str] = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)  # column -> cells of every segment (plain Python)
    invalid: dict[str, list[str]] = field(default_factory=dict)  # segment -> pynwb validation errors

    def by_component(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in self.rows:
            out.setdefault(r["component"], []).append(r)
        return out


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v


def _one(path: str) -> tuple[list[str], list[str], dict[str, list], list[str]]:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    from pynwb import NWBHDF5IO

    import nwbcheck

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(path, "r") as io:
            f = io.read()
            texts = [t.decode() if isinstance(t, bytes) else t for t in f.acquisition[SERIES].data[:]] if SERIES in f.acquisition else []
            comps: list[str] = []
            cols: dict[str, list] = {}
            if f.intervals is not None and TABLE in f.intervals:
                t = f.intervals[TABLE]
                comps = [_plain(x) for x in t["updated_component"][:]]
                for c in t.colnames:
                    if c not in ("start_time", "stop_time", "updated_component"):
                        cols[c] = [_plain(t[c][i]) for i in range(len(t))]
    return texts, comps, cols, nwbcheck.validate(path)


def read_recording(out: Path) -> Recording:
    segs = [out, *sorted(out.parent.glob(f"{out.stem}_*.nwb"))]
    rec = Recording(segs)
    with ProcessPoolExecutor(max_workers=min(len(segs), os.cpu_count() or 2, 8)) as pool:
        for seg, (texts, comps, cols, errors) in zip(segs, pool.map(_one, [str(s) for s in segs])):
            rec.rows += [json.loads(t) for t in texts]
            rec.table_components += comps
            for c, v in cols.items():
                rec.columns.setdefault(c, []).extend(v)
            if errors:
                rec.invalid[str(seg)] = errors
    return rec
