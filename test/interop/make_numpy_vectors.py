"""Regenerate test/fixtures/ezmsg/numpy/vectors.json: numpy arrays in every pickle layout numpy 2
uses, each wrapped in an AxisArray and framed as a real ezmsg TX_TCP frame by ezmsg's own
MessageMarshal. The expected values are numpy's own C-order bytes (hex) or tolist().

    .venv/bin/python test/interop/make_numpy_vectors.py
"""

import base64
import json
import sys
from pathlib import Path

import ezmsg.core as ez
import numpy as np
from ezmsg.core.messagemarshal import MessageMarshal
from ezmsg.util.messages.axisarray import AxisArray

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "ezmsg" / "numpy" / "vectors.json"


def frame(msg, msg_id: int) -> bytes:
    with MessageMarshal.serialize(msg_id, msg) as (total, header, bufs):
        payload = header + b"".join(bytes(b) for b in bufs)
    assert len(payload) == total
    return bytes([0x0D]) + msg_id.to_bytes(8, "little") + total.to_bytes(8, "little") + payload


def cases():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((4, 5, 6)).astype(np.float32)
    for perm in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        yield f"C block transposed {perm}", base.transpose(perm)
        yield f"F block transposed {perm}", np.asfortranarray(base).transpose(perm)
    yield "2-D C float32 (time, ch)", rng.standard_normal((300, 16)).astype(np.float32)
    yield "2-D F float64 (a .T)", rng.standard_normal((7, 33)).T
    yield "strided slice (in-band, > 256 bytes)", base[:, ::2]
    yield "negative stride (in-band)", base[::-1]
    yield "int16 step 3 (in-band, short)", np.arange(10, dtype=np.int16)[::3]
    yield "0-d float64", np.array(3.5)
    yield "empty (0, 3)", np.zeros((0, 3), np.float32)
    yield "empty F (3, 0).T", np.zeros((3, 0), np.float64).T
    yield "bool", rng.integers(0, 2, (3, 4)) > 0
    yield "big-endian int32", np.arange(-3, 3, dtype=">i4").reshape(2, 3)
    yield "big-endian float64", (np.arange(6, dtype=">f8") / 3).reshape(3, 2)
    yield "uint8 F", np.arange(6, dtype=np.uint8).reshape(3, 2).T
    yield "int8", np.array([-128, -1, 0, 127], np.int8)
    yield "uint16", np.array([0, 1, 65535], np.uint16)
    yield "int32", np.array([[-(2**31), 2**31 - 1]], np.int32)
    yield "uint32", np.array([0, 2**32 - 1], np.uint32)
    yield "int64", np.array([-(2**63), 2**63 - 1, 12345678901234], np.int64)
    yield "uint64", np.array([0, 2**64 - 1], np.uint64)
    yield "float32 nan inf -0", np.array([np.nan, np.inf, -np.inf, -0.0], np.float32)
    yield "unicode labels", np.array(["a", "Ch01", "δ", "😀x"])
    yield "big-endian unicode", np.array(["ab", "c"], dtype=">U2")
    yield "object labels", np.array(["x", "yy"], dtype=object)
    ro = np.arange(12, dtype=np.float64).reshape(3, 4)
    ro.flags.writeable = False
    yield "read-only (READONLY_BUFFER)", ro


def expected(a: np.ndarray) -> dict:
    out = {"dtype": a.dtype.str, "shape": list(a.shape)}
    if a.dtype.kind in "OU":
        out["values"] = a.tolist()
    else:
        c = np.ascontiguousarray(a)
        out["c_order_hex"] = c.astype(c.dtype.newbyteorder("<")).tobytes().hex()
    return out


def main() -> int:
    vectors = []
    for i, (name, a) in enumerate(cases()):
        msg = AxisArray(a, dims=[f"d{j}" for j in range(a.ndim)], axes={}, attrs={}, key=name)
        vectors.append({"name": name, "frame_b64": base64.b64encode(frame(msg, i)).decode(), "expected": expected(a)})
    shared = np.arange(8, dtype=np.float32).reshape(4, 2)
    msg = AxisArray(shared, dims=["d0", "d1"], axes={}, attrs={"same": shared, "again": shared}, key="shared")
    vectors.append({"name": "one array referenced three times (memo)", "frame_b64": base64.b64encode(frame(msg, 99)).decode(), "expected": expected(shared)})
    doc = {"numpy_version": np.__version__, "ezmsg_version": ez.__version__, "vectors": vectors}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(vectors)} vectors → {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
