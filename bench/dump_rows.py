"""Turn the datasets our sink wrote into raw row files for the h5wasm floor (not timed).

    python bench/dump_rows.py <file.nwb> <out_dir> <group>

For every dataset under <group> (e.g. intervals/pipeline_settings): `<k>.bin` with the rows as
little-endian bytes (numeric) or NUL-terminated UTF-8 (text) plus `<k>.off` (uint64 byte offset
of each row's first string), and `manifest.json` listing path, dtype, row shape, chunk rows and
row count. The floor then appends exactly these bytes, without parsing anything.
"""

import json
import os
import sys

import h5py
import numpy as np

src, out_dir, group = sys.argv[1:4]
os.makedirs(out_dir, exist_ok=True)
manifest = []
with h5py.File(src, "r") as f:
    g = f[group]
    for k, name in enumerate(g):
        ds = g[name]
        if not isinstance(ds, h5py.Dataset):
            continue
        entry = {"path": f"{group}/{name}", "rowShape": list(ds.shape[1:]), "rows": int(ds.shape[0]), "chunkRows": int(ds.chunks[0]) if ds.chunks else 1024, "file": str(k)}
        if h5py.check_string_dtype(ds.dtype) is not None:
            values = ds[...].reshape(-1)  # bytes objects
            blob = bytearray()
            offsets = np.empty(len(values), dtype="<u8")
            for i, v in enumerate(values):
                offsets[i] = len(blob)
                blob += v if isinstance(v, bytes) else str(v).encode()
                blob += b"\0"
            entry["dtype"] = "text"
            with open(os.path.join(out_dir, f"{k}.bin"), "wb") as o:
                o.write(blob)
            offsets.tofile(os.path.join(out_dir, f"{k}.off"))
        else:
            dt = ds.dtype.newbyteorder("<")
            # HDF5 bools (enum of int8) are one byte 0/1 per value: the floor appends them as int8
            # (h5wasm cannot create enum types; our sink converts its placeholder type once).
            entry["dtype"] = {"<f8": "float64", "<i8": "int64", "|i1": "int8", "|u1": "uint8", "|b1": "int8"}[dt.str]
            ds[...].astype(dt).tofile(os.path.join(out_dir, f"{k}.bin"))
        manifest.append(entry)
with open(os.path.join(out_dir, "manifest.json"), "w") as o:
    json.dump(manifest, o, indent=1)
print(json.dumps({"datasets": len(manifest)}))
