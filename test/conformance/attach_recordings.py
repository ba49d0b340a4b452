"""Recordings written by pynwb, as labs have them, for the `attach` tests, and a settings log on
their clock. Test tooling only.

Variants (each a small ElectricalSeries + electrodes + device + Subject):
- default:  NWBHDF5IO's defaults (h5py: superblock v0);
- latest:   h5py.File(libver="latest") (superblock v3, with its open-for-write flag);
- growable: data with maxshape (None, channels), appended after reopening in "a" (as ezmsg-nwb writes);
- gzip:     gzip-compressed chunked data (as neuroconv writes);
- busy:     already holds trials and another AnnotationSeries.
"""

from __future__ import annotations

import calendar
import json
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

VARIANTS = ("default", "latest", "growable", "gzip", "busy")

# A session start with microseconds: the clock test checks them.
SESSION_START = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
SAMPLES = 4000
CHANNELS = 8
RATE = 1000.0


def session_unix_micros() -> int:
    return calendar.timegm(SESSION_START.utctimetuple()) * 1_000_000 + SESSION_START.microsecond


def make_recording(path: Path, variant: str, samples: int = SAMPLES) -> Path:
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject
    from pynwb.misc import AnnotationSeries

    rng = np.random.default_rng(7)
    data = rng.integers(-2000, 2000, size=(samples, CHANNELS), dtype=np.int16)
    nwb = NWBFile(
        session_description=f"attach test recording ({variant})",
        identifier=f"attach-{variant}",
        session_start_time=SESSION_START,
        subject=Subject(subject_id="m1", species="Mus musculus", sex="F", age="P90D", description="test mouse"),
        experimenter=["Doe, Jane"],
        institution="Test Lab",
    )
    device = nwb.create_device(name="probe", description="test probe", manufacturer="test")
    group = nwb.create_electrode_group(name="shank0", description="shank", location="CA1", device=device)
    for i in range(CHANNELS):
        nwb.add_electrode(group=group, location="CA1", x=float(i), y=0.0, z=0.0)
    region = nwb.create_electrode_table_region(list(range(CHANNELS)), "all electrodes")
    if variant == "gzip":
        stored = H5DataIO(data, compression="gzip", compression_opts=4, chunks=(1000, CHANNELS))
    elif variant == "growable":
        stored = H5DataIO(data[: samples // 2], maxshape=(None, CHANNELS), chunks=(500, CHANNELS))
    else:
        stored = data
    nwb.add_acquisition(
        ElectricalSeries(name="ElectricalSeries", data=stored, electrodes=region, starting_time=0.0, rate=RATE, conversion=1e-6)
    )
    if variant == "busy":
        nwb.add_trial(start_time=0.5, stop_time=1.5)
        nwb.add_trial(start_time=2.0, stop_time=3.0)
        nwb.add_acquisition(
            AnnotationSeries(name="experimenter_notes", data=["started", "stimulus"], timestamps=[0.1, 1.2], description="notes")
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if variant == "latest":
            with h5py.File(path, "w", libver="latest") as f:
                with NWBHDF5IO(file=f, mode="w") as io:
                    io.write(nwb)
        else:
            with NWBHDF5IO(str(path), "w") as io:
                io.write(nwb)
    if variant == "growable":
        with h5py.File(path, "a") as f:
            d = f["acquisition/ElectricalSeries/data"]
            d.resize((samples, CHANNELS))
            d[samples // 2 :] = data[samples // 2 :]
    return path


def write_settings_log(path: Path, relative_times: list[float] | None = None, updates: int = 6) -> list[dict]:
    """A JSONL settings log whose Unix timestamps sit at known recording times (seconds since
    SESSION_START). Two INITIALs before time 0, the sentinel, then UPDATEDs. Returns the events
    with their intended recording time in "rel"."""
    base = session_unix_micros()
    rels = relative_times or [-2.5, -1.0, 0.25, 1.000001, 1.5, 2.000002, 2.5, 3.25][: 2 + updates]
    events = []
    seq = 0
    for i, rel in enumerate(rels):
        seq += 1
        initial = i < 2
        comp = "pipeline/filter" if i % 2 == 0 else "pipeline/amp"
        value = {"cutoff_hz": 100.0 + i, "enabled": i % 3 != 0, "order": i} if comp == "pipeline/filter" else {"gain": 2.0 * i, "mode": f"m{i}"}
        t = (base + round(rel * 1_000_000)) / 1_000_000
        events.append(
            {
                "seq": seq,
                "timestamp": t,
                "component_address": comp,
                "event_type": "INITIAL" if initial else "UPDATED",
                "repr_value": value,
                "structured_value": value,
                "source_session_id": "s1",
                "rel": rel,
            }
        )
        if i == 1:
            events.append(
                {
                    "seq": seq,
                    "timestamp": t,
                    "component_address": "__init_final__",
                    "event_type": "INITIAL",
                    "repr_value": "",
                    "structured_value": None,
                    "source_session_id": None,
                    "rel": rel,
                }
            )
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps({k: v for k, v in e.items() if k != "rel"}) + "\n")
    return events


def snapshot(path: Path, exclude: tuple[str, ...] = ()) -> dict[str, object]:
    """Every object's data and attributes (as comparable Python values), except paths under `exclude`."""
    out: dict[str, object] = {}

    def norm(v):
        if isinstance(v, np.ndarray):
            return ("array", str(v.dtype), v.shape, v.tobytes() if v.dtype.kind not in "OU" else repr(v.tolist()))
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        if isinstance(v, (h5py.Reference, h5py.RegionReference)):
            return "ref"
        return repr(v)

    def visit(name, obj):
        p = "/" + name
        if any(p == e or p.startswith(e + "/") for e in exclude):
            return
        for k in obj.attrs.keys():
            try:
                out[f"{p}@{k}"] = norm(obj.attrs[k])
            except Exception as exc:  # pragma: no cover
                out[f"{p}@{k}"] = f"<unreadable {exc}>"
        if isinstance(obj, h5py.Dataset):
            out[p] = norm(obj[()])

    with h5py.File(path, "r") as f:
        for k in f.attrs.keys():
            out[f"/@{k}"] = norm(f.attrs[k])
        f.visititems(visit)
    return out
