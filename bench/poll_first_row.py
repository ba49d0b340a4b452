"""The separate reader for "time to first readable row": polls one file with h5py until every
named dataset exists and holds at least one row.

    python bench/poll_first_row.py <file.nwb> <dataset>[,<dataset>...] <timeout_s>

Protocol: prints "ready" once h5py is imported (the harness starts the contender only then, so the
reader's own start-up is not counted), then polls every POLL_S: open read-only without HDF5 file
locking (the writer may hold the file open; h5py writers take a lock), look up the datasets,
close. Any error (file missing, half-written, not yet flushed) just means "not yet". Prints
"seen <unix seconds>" at the first success, or "timeout" after timeout_s.

`convert` writes its output staged (docs/reliability.md): under a hidden name beside the final one,
`.<name>.<tag>.partial`, renamed into place when complete. The rows flushed there are readable as
they are written, so that file counts too (the first of the two that shows a row).
"""

import glob
import os
import sys
import time

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
import h5py  # noqa: E402

POLL_S = 0.005

path, datasets, timeout_s = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
print("ready", flush=True)
deadline = time.time() + timeout_s
staged = os.path.join(glob.escape(os.path.dirname(path)), f".{glob.escape(os.path.basename(path))}.*.partial")


def has_rows(p: str) -> bool:
    try:
        with h5py.File(p, "r", locking=False) as f:
            return all(d in f and f[d].shape[0] >= 1 for d in datasets)
    except Exception:
        return False


while time.time() < deadline:
    if any(has_rows(p) for p in [path, *glob.glob(staged)] if os.path.exists(p)):
        print(f"seen {time.time():.6f}", flush=True)
        sys.exit(0)
    time.sleep(POLL_S)
print("timeout", flush=True)
