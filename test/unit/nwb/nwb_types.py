"""pynwb's side of the NWB-type round-trip tests (test/unit/nwb/*.test.ts).

Usage (prints one JSON object on the last line of stdout):
  nwb_types.py read FILE    pynwb reads FILE: root metadata, every AnnotationSeries and
                            TimeIntervals wherever it is (found by neurodata type), with rows,
                            column dtypes and HDF5 chunks; pynwb.validate(path=FILE) errors.
  nwb_types.py write FILE   pynwb writes a file we did not write: an AnnotationSeries inside a
                            processing module and a TimeIntervals table with float, int, bool and
                            text columns, in places our own writer never uses.
"""
import json
import sys
import warnings
from datetime import datetime, timezone

import numpy as np


def plain(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def read(path):
    from pynwb import NWBHDF5IO, validate
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import AnnotationSeries

    out = {"annotations": {}, "intervals": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["validate"] = [str(e) for e in validate(path=path)]
        with NWBHDF5IO(path, "r") as io:
            nwb = io.read()
            out["identifier"] = nwb.identifier
            out["session_description"] = nwb.session_description
            out["session_start_time"] = nwb.session_start_time.isoformat()
            for obj in nwb.objects.values():
                if isinstance(obj, AnnotationSeries):
                    out["annotations"][obj.name] = {
                        "description": obj.description,
                        "data": plain(obj.data[:]),
                        "timestamps": plain(obj.timestamps[:]),
                    }
                elif isinstance(obj, TimeIntervals):
                    df = obj.to_dataframe()
                    cols = list(obj.colnames)
                    out["intervals"][obj.name] = {
                        "description": obj.description,
                        "colnames": cols,
                        "dtypes": {c: str(df[c].dtype) for c in cols},
                        "ids": plain(np.asarray(df.index)),
                        "rows": [{c: plain(df[c].iloc[i]) for c in cols} for i in range(len(df))],
                        "chunks": {c: list(obj[c].data.chunks) if obj[c].data.chunks else None for c in cols},
                    }
    return out


def write(path):
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import AnnotationSeries

    nwb = NWBFile(session_description="written by pynwb", identifier="pynwb-file", session_start_time=datetime(2026, 1, 2, tzinfo=timezone.utc))
    module = nwb.create_processing_module("behavior", "a module our writer never uses")
    module.add(AnnotationSeries(name="notes", data=["first", "second ✓"], timestamps=[0.5, 1.5], description="pynwb notes"))
    trials = TimeIntervals(name="trials_like", description="pynwb table")
    trials.add_column("gain", "a float")
    trials.add_column("count", "an int")
    trials.add_column("on", "a bool")
    trials.add_column("label", "a text")
    trials.add_row(start_time=0.0, stop_time=1.0, gain=0.5, count=np.int64(3), on=True, label="a")
    trials.add_row(start_time=1.0, stop_time=2.0, gain=1.5, count=np.int64(-4), on=False, label="b ✓")
    nwb.add_time_intervals(trials)
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return {"written": path}


if __name__ == "__main__":
    cmd, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read(path) if cmd == "read" else write(path)))
