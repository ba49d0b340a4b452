"""Dump typed-column tables as pynwb reads them, as JSON that keeps every type exactly.

    .venv/bin/python test/conformance/table_dump.py [--table NAME] FILE.nwb ...   (or file names on stdin)

Used by the property-based test (test/unit/sinks/table-property.test.ts): one Python run reads a
whole batch of files. For each file: {"colnames": [...], "dtypes": {col: pandas dtype},
"rows": [{col: cell}]}, read through `to_dataframe()`. A cell is {"i": "<int>"} (numpy integer,
decimal text so int64 stays exact), {"f": "<repr>"} (float), {"b": bool}, {"s": str}, or
{"a": [cells...], "shape": [...], "dtype": "<numpy dtype>"} for an array (flat, row-major).
A file that fails to read gives {"error": "<text>"}.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import numpy as np


def cell(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        flat = v.reshape(-1) if v.size else v.reshape(0)
        return {"a": [cell(x) for x in flat], "shape": list(v.shape), "dtype": str(v.dtype)}
    if isinstance(v, (bool, np.bool_)):
        return {"b": bool(v)}
    if isinstance(v, (int, np.integer)):
        return {"i": str(int(v))}
    if isinstance(v, (float, np.floating)):
        return {"f": repr(float(v))}
    if isinstance(v, bytes):
        return {"s": v.decode("utf-8")}
    if isinstance(v, str):
        return {"s": v}
    raise TypeError(f"unexpected cell type {type(v).__name__}: {v!r}")


def dump(path: str, table: str) -> dict[str, Any]:
    from pynwb import NWBHDF5IO

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(path, "r") as io:
                df = io.read().intervals[table].to_dataframe()
                return {
                    "colnames": list(df.columns),
                    "dtypes": {c: str(t) for c, t in df.dtypes.items()},
                    "ids": [int(i) for i in df.index],
                    "rows": [{c: cell(r[c]) for c in df.columns} for _, r in df.iterrows()],
                }
    except Exception as exc:  # reported per file; the caller fails the case
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    table = "pipeline_settings"
    if len(argv) >= 2 and argv[0] == "--table":
        table, argv = argv[1], argv[2:]
    paths = argv or [line.strip() for line in sys.stdin if line.strip()]
    json.dump({p: dump(p, table) for p in paths}, sys.stdout, ensure_ascii=False, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
