"""What h5py and pynwb make of bool datasets written by h5wasm and patched by src/nwb/hdf5/bool-dtype.ts.

Usage (prints one JSON object on the last line of stdout):
  bool-check.py h5py FILE DATASET [APPEND_JSON]   dtype, shape, maxshape, chunks, values; with
                                                  APPEND_JSON (a list of rows) h5py appends them
                                                  first (resize + write), as a second writer would.
  bool-check.py nwb FILE TABLE                    pynwb: to_dataframe() dtypes and values,
                                                  pynwb.validate(path=FILE).
"""
import json
import sys
import warnings

import h5py
import numpy as np


def h5py_check(path, name, append):
    if append is not None:
        rows = np.asarray(json.loads(append), dtype=bool)
        with h5py.File(path, "a") as f:
            d = f[name]
            n = d.shape[0]
            d.resize(n + rows.shape[0], axis=0)
            d[n:] = rows
    with h5py.File(path, "r") as f:
        d = f[name]
        t = d.id.get_type()
        enum = None
        if isinstance(t, h5py.h5t.TypeEnumID):
            enum = {t.get_member_name(i).decode(): int(t.get_member_value(i)) for i in range(t.get_nmembers())}
        return {
            "dtype": str(d.dtype),
            "numpy_bool": d.dtype == np.dtype(bool),
            "enum": enum,
            "shape": list(d.shape),
            "maxshape": [m for m in d.maxshape],
            "chunks": list(d.chunks) if d.chunks else None,
            "values": d[()].tolist(),
        }


def nwb_check(path, table):
    import pynwb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(path, "r") as io:
            nwb = io.read()
            df = nwb.intervals[table].to_dataframe()
            out = {
                "columns": list(df.columns),
                "dtypes": {c: str(df[c].dtype) for c in df.columns},
                # Per-cell Python type of the first cell (array cells are numpy arrays).
                "cell_dtypes": {c: str(np.asarray(df[c].iloc[0]).dtype) for c in df.columns if len(df)},
                "values": {c: [np.asarray(v).tolist() for v in df[c]] for c in df.columns},
                "rows": len(df),
            }
        errors = pynwb.validate(path=path)
    out["validate"] = [str(e) for e in errors]
    return out


def main(argv):
    if argv[1] == "h5py":
        result = h5py_check(argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    elif argv[1] == "nwb":
        result = nwb_check(argv[2], argv[3])
    else:
        raise SystemExit(f"unknown check {argv[1]}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
