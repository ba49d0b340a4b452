"""#12: a typed-column file is proportional to its data. Measures, through the real sink
(table_size.mjs), the file size for 10, 1,000 and 10,000 settings columns x 3 states (and 100,000
with NWB_SETTINGS_SIZE_100K=1: writing it takes about 10 minutes on a loaded 2-core machine, too
long for CI; measured once, see docs/table-sink.md) and reports bytes per column and per row, and
how long pynwb takes to open the widest file and read its table. Assertions are limits on size
(bytes), not timings, except that the widest file must open within seconds.

The report is printed (pytest -s, or shown always via capsys.disabled) and recorded in
docs/table-sink.md "File size". Needs `npm run build`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import warnings
from pathlib import Path

from conftest import NODE, REPO

SCRIPT = REPO / "test" / "conformance" / "table_size.mjs"


def write(path: Path, columns: int, rows: int) -> dict:
    r = subprocess.run([NODE, str(SCRIPT), str(path), str(columns), str(rows)], cwd=str(REPO), capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def open_with_pynwb(path: Path) -> tuple[float, int, int]:
    """Seconds to open the file with pynwb and read the settings table's ids and every column's
    length (what a user does first), and the table's (rows, columns)."""
    from pynwb import NWBHDF5IO

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r") as io:
            t = io.read().intervals["pipeline_settings"]
            n = len(t.id[:])
            cols = len(t.colnames)
    return time.perf_counter() - t0, n, cols


def test_file_size_is_proportional_to_the_data(tmp_path: Path, capsys) -> None:
    base = write(tmp_path / "c10.nwb", 10, 3)
    more_rows = write(tmp_path / "c10_r1003.nwb", 10, 1003)
    per_row_10 = (more_rows["bytes"] - base["bytes"]) / 1000
    results = [base]
    widths = (1_000, 10_000, 100_000) if os.environ.get("NWB_SETTINGS_SIZE_100K") == "1" else (1_000, 10_000)
    for columns in widths:
        results.append(write(tmp_path / f"c{columns}.nwb", columns, 3))
    widest = widths[-1]
    opened, n, cols = open_with_pynwb(tmp_path / f"c{widest}.nwb")

    lines = ["table size (3 states; columns a third int64, float64, text):"]
    for r in results:
        per_col = (r["bytes"] - base["bytes"]) / (r["columns"] - 10) if r["columns"] > 10 else float("nan")
        lines.append(f"  {r['columns']:>7,} columns: {r['bytes']:>12,} bytes, {per_col:7.0f} bytes/column beyond 10, written in {r['write_s']:.1f} s")
    lines.append(f"  10 columns: {per_row_10:.0f} bytes per row (1,003 vs 3 states)")
    lines.append(f"  {widest:,} columns: pynwb opened it and read the table ({n} rows, {cols} columns) in {opened:.1f} s")
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert n == 3 and cols == widest + 3
    assert per_row_10 < 200, per_row_10  # 13 columns of 8-16 bytes each, plus the text
    for r in results[1:]:
        per_col = (r["bytes"] - base["bytes"]) / (r["columns"] - 10)
        assert per_col < 4_000, (r, per_col)  # was ~13,700 with 8 KiB chunks per column
    assert opened < 60, opened  # seconds, not minutes
