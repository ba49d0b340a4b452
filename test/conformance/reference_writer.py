"""Ground truth written by pynwb itself, for the layout comparison.

    .venv/bin/python test/conformance/reference_writer.py LOG.jsonl OUT.nwb [--meta meta.yaml] [--time-origin raw|first-event]
    .venv/bin/python test/conformance/reference_writer.py --time-intervals OUT.nwb

`write_annotations_reference` writes the same content the CLI must write for a log (NWBFile with the
metadata, one AnnotationSeries per table_name in /acquisition, rows and timestamps from expected.py)
but through pynwb's own object mapper, so every dataset, attribute and string type is what pynwb
produces. `write_time_intervals_reference` writes a TimeIntervals table with typed columns (float,
int64, str, bool, (n,3) float) for the typed-column sink that comes next.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expected as exp  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def load_meta(path: Optional[str | Path]) -> dict[str, Any]:
    """A --meta file (YAML, or JSON by extension) as a dict; {} when none."""
    if path is None:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if str(path).lower().endswith(".json"):
        return json.loads(text) or {}
    import yaml

    return yaml.safe_load(text) or {}


def looks_like_unix_time(t: float) -> bool:
    """Timestamps in 2001..2286 are taken as Unix time; anything else (e.g. time.monotonic()) has an
    unknown origin."""
    return 1e9 <= t < 1e10


def session_times(log: exp.Log, time_origin: str, meta: dict[str, Any]) -> tuple[datetime, datetime]:
    """(session_start_time, timestamps_reference_time) by NWB semantics: stored timestamps are seconds
    since timestamps_reference_time. With Unix-time stamps, first-event -> reference = t0, raw ->
    reference = the Unix epoch; with stamps of unknown origin nothing better than 'now' exists."""
    t0 = exp.t0(log)
    unix = t0 is not None and looks_like_unix_time(t0)
    start = datetime.fromtimestamp(t0, tz=timezone.utc) if unix else datetime.now(timezone.utc)
    reference = EPOCH if (unix and time_origin == "raw") else start
    if meta.get("session_start_time") is not None:
        s = meta["session_start_time"]
        start = s if isinstance(s, datetime) else datetime.fromisoformat(str(s))
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
    return start, reference


def _as_list(v: Any) -> Optional[list[str]]:
    if v is None:
        return None
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]


def make_nwbfile(meta: dict[str, Any], start: datetime, reference: datetime, default_description: str):
    from pynwb import NWBFile
    from pynwb.file import Subject

    kwargs: dict[str, Any] = dict(
        session_description=str(meta.get("session_description") or default_description),
        identifier=str(meta.get("identifier") or uuid.uuid4()),
        session_start_time=start,
        timestamps_reference_time=reference,
    )
    for k in ("institution", "lab", "experiment_description", "session_id", "notes", "protocol"):
        if meta.get(k) is not None:
            kwargs[k] = str(meta[k])
    for k in ("experimenter", "keywords", "related_publications"):
        if meta.get(k) is not None:
            kwargs[k] = _as_list(meta[k])
    subject = meta.get("subject")
    if subject:
        kwargs["subject"] = Subject(**{k: str(v) for k, v in subject.items() if v is not None})
    return NWBFile(**kwargs)


def write_annotations_reference(
    log_path: str | Path,
    out_path: str | Path,
    meta_path: Optional[str | Path] = None,
    time_origin: str = "first-event",
    description: str = "Pipeline settings changes (pynwb reference)",
) -> dict[str, list[exp.Row]]:
    """Write the pynwb reference file for a log; returns the expected rows it wrote."""
    from pynwb import NWBHDF5IO
    from pynwb.misc import AnnotationSeries

    log = exp.parse_log(log_path)
    rows = exp.expected_series(log, time_origin)
    if not rows:
        raise ValueError(f"{log_path}: no rows; a reference file would be empty")
    meta = load_meta(meta_path)
    start, reference = session_times(log, time_origin, meta)
    nwbfile = make_nwbfile(meta, start, reference, "pynwb reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AnnotationSeries is deprecated in pynwb 4 (still valid NWB 2.x)
        for name, series_rows in rows.items():
            nwbfile.add_acquisition(
                AnnotationSeries(
                    name=name,
                    data=[r.text() for r in series_rows],
                    timestamps=[r.time for r in series_rows],
                    description=description,
                )
            )
        with NWBHDF5IO(str(out_path), "w") as io:
            io.write(nwbfile)
    return rows


# ---------------------------------------------------------------------------------------------------
# TimeIntervals with typed columns (for the typed-column sink)
# ---------------------------------------------------------------------------------------------------

# One row per settings snapshot; the column kinds the typed sink will produce.
TYPED_ROWS: list[dict[str, Any]] = [
    {"start_time": 0.0, "stop_time": 1.5, "gain": 1.0, "n_channels": 2**53 + 1, "mode": "fast", "enabled": True, "position": [0.0, 1.0, 2.0]},
    {"start_time": 1.5, "stop_time": 2.25, "gain": float("nan"), "n_channels": -3, "mode": "ünïcödé ✓ 日本", "enabled": False, "position": [1.5, -2.0, 1e300]},
    {"start_time": 2.25, "stop_time": 4.0, "gain": 2.5, "n_channels": 9223372036854775807, "mode": "", "enabled": True, "position": [0.1, 0.2, 0.3]},
]
TYPED_COLUMNS: dict[str, str] = {
    "gain": "float64 setting",
    "n_channels": "int64 setting",
    "mode": "text setting",
    "enabled": "bool setting",
    "position": "(n,3) float64 setting",
}


def write_time_intervals_reference(
    out_path: str | Path,
    rows: list[dict[str, Any]] = TYPED_ROWS,
    name: str = "settings",
    location: str = "intervals",
) -> None:
    """A TimeIntervals table with float64, int64, text, bool and (n,3) float64 columns, written by
    pynwb. `location` is "intervals" (nwbfile.add_time_intervals -> /intervals/NAME) or "acquisition"."""
    from pynwb import NWBHDF5IO
    from pynwb.epoch import TimeIntervals

    table = TimeIntervals(name=name, description="typed settings columns (pynwb reference)")
    for col, desc in TYPED_COLUMNS.items():
        table.add_column(name=col, description=desc)
    for r in rows:
        table.add_row(
            start_time=float(r["start_time"]),
            stop_time=float(r["stop_time"]),
            gain=np.float64(r["gain"]),
            n_channels=np.int64(r["n_channels"]),
            mode=str(r["mode"]),
            enabled=np.bool_(r["enabled"]),
            position=np.asarray(r["position"], dtype=np.float64),
        )
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    nwbfile = make_nwbfile({}, start, start, "pynwb TimeIntervals reference")
    if location == "intervals":
        nwbfile.add_time_intervals(table)
    elif location == "acquisition":
        nwbfile.add_acquisition(table)
    else:
        raise ValueError(location)
    with NWBHDF5IO(str(out_path), "w") as io:
        io.write(nwbfile)


def _main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", nargs="?")
    p.add_argument("out")
    p.add_argument("--meta")
    p.add_argument("--time-origin", default="first-event", choices=["first-event", "raw"])
    p.add_argument("--time-intervals", action="store_true", help="write the typed-column TimeIntervals reference to OUT")
    a = p.parse_args(argv)
    if a.time_intervals:
        write_time_intervals_reference(a.out)
    else:
        if not a.log:
            p.error("LOG is required")
        write_annotations_reference(a.log, a.out, a.meta, a.time_origin)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
