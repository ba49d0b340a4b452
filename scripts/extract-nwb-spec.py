"""Extract the NWB schema that pynwb caches in every file (/specifications) into
assets/nwb-cached-spec.json, so nwb-settings writes the same self-describing files.

The schema text is the NWB and hdmf-common schema (BSD-3-Clause, see assets/README.md); this
script only copies what pynwb itself would write. Run it with the pinned test venv after bumping
pynwb:  .venv/bin/python scripts/extract-nwb-spec.py
"""
import json
import os
import tempfile
import warnings
from datetime import datetime, timezone

import h5py
from pynwb import NWBHDF5IO, NWBFile

warnings.simplefilter("ignore")
out = os.path.join(os.path.dirname(__file__), "..", "assets", "nwb-cached-spec.json")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "spec.nwb")
    nwb = NWBFile(session_description="spec", identifier="spec", session_start_time=datetime.now(timezone.utc))
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    spec = {}
    with h5py.File(path, "r") as h5:
        for ns, group in h5["specifications"].items():
            (version,) = list(group.keys())
            sources = {name: ds[()].decode("utf-8") for name, ds in group[version].items()}
            spec[ns] = {"version": version, "sources": sources}
with open(out, "w", encoding="utf-8") as f:
    json.dump(spec, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wrote {out}: " + ", ".join(f"{k} {v['version']}" for k, v in spec.items()))
