"""Regenerate the pickle test vectors for the TypeScript ezmsg client with the pinned ezmsg 3.9.

Usage:
    .venv/bin/python test/interop/make_ezmsg_vectors.py

Writes (and overwrites):
    test/fixtures/ezmsg/generated/<name>.p<protocol>.pkl   pickle.dumps(obj, protocol) of ezmsg objects
                                                          (as the GraphServer sends them) and of edge cases;
    test/fixtures/ezmsg/generated/vectors.json           per file: name, protocol, description and the
                                                          expected decoded value in the "typed" form below;
    test/fixtures/ezmsg/captured/expected.json           the same typed form for every captured payload in
                                                          test/fixtures/ezmsg/captured/*.bin (loaded with
                                                          pickle.loads: they are our own trusted captures).

Typed form (so JSON can say what a Python value was): None/bool/str as themselves; int ->
{"int": "<decimal>"}; float -> {"float": x} ("nan"/"inf"/"-inf" as strings); bytes/bytearray ->
{"bytes": "<hex>"}; list/tuple -> [...]; dict -> {"dict": [[k, v], ...]}; set/frozenset ->
{"set"|"frozenset": [...]}; uuid.UUID -> its string; enum member -> {"enum": "<module.Class>",
"member": name}; a class/function -> {"class": "<module.name>"}; any other instance -> {"object":
"<module.qualname>", "construction": "newobj"|"reduce", "args": [...], "state": ... (absent if none)},
derived from obj.__reduce_ex__(protocol) exactly as pickle does.

Only the standard library and ezmsg are used. Nothing here is needed at test time.
"""

from __future__ import annotations

import copyreg
import dataclasses
import enum
import json
import math
import os
import pickle
import sys
import uuid
from pathlib import Path

import ezmsg.core as ez
from ezmsg.core.graphmeta import (
    CollectionMetadata,
    DynamicSettingsMetadata,
    Edge,
    GraphMetadata,
    GraphSnapshot,
    InputStreamMetadata,
    OutputStreamMetadata,
    SettingsChangedEvent,
    SettingsEventType,
    SettingsSnapshotValue,
    SnapshotProcess,
    SnapshotSession,
    TaskMetadata,
    TopicMetadata,
    UnitMetadata,
)
from ezmsg.core.settingsmeta import (
    settings_repr_value,
    settings_schema_from_value,
    settings_structured_value,
)

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "test" / "fixtures" / "ezmsg" / "generated"
CAPTURED = ROOT / "test" / "fixtures" / "ezmsg" / "captured"


# ---- typed form ------------------------------------------------------------------------------


def qualname(obj: object) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def typed(o: object, protocol: int = 4) -> object:
    if o is None or isinstance(o, (bool, str)):
        return o
    if isinstance(o, int) and not isinstance(o, enum.Enum):
        return {"int": str(o)}
    if isinstance(o, float):
        if math.isnan(o):
            return {"float": "nan"}
        if math.isinf(o):
            return {"float": "inf" if o > 0 else "-inf"}
        return {"float": o}
    if isinstance(o, (bytes, bytearray)):
        return {"bytes": bytes(o).hex()}
    if isinstance(o, uuid.UUID):
        return str(o)
    if isinstance(o, enum.Enum):
        return {"enum": qualname(type(o)), "member": o.name}
    if type(o) in (list, tuple):
        return [typed(x, protocol) for x in o]
    if type(o) is dict:
        return {"dict": [[typed(k, protocol), typed(v, protocol)] for k, v in o.items()]}
    if type(o) in (set, frozenset):
        return {type(o).__name__: [typed(x, protocol) for x in o]}
    if isinstance(o, type) or callable(o) and hasattr(o, "__qualname__") and not hasattr(o, "__dict__"):
        return {"class": qualname(o)}
    rv = o.__reduce_ex__(protocol)
    func, args = rv[0], rv[1]
    state = rv[2] if len(rv) > 2 else None
    out: dict[str, object]
    if func is copyreg.__newobj__:
        out = {"object": qualname(args[0]), "construction": "newobj", "args": [typed(x, protocol) for x in args[1:]]}
    else:
        out = {"object": qualname(func), "construction": "reduce", "args": [typed(x, protocol) for x in args]}
    if state is not None:
        out["state"] = typed(state, protocol)
    return out


# ---- objects -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FilterSpec:
    order: int = 4
    cutoff_hz: float = 30.0
    kind: str = "lowpass"


class GainSettings(ez.Settings):
    gain: float = 2.0
    offset: int = 2**60 + 7
    mode: str = "slow"
    enabled: bool = False
    taps: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.5, 1.0])
    filter: FilterSpec = dataclasses.field(default_factory=FilterSpec)
    label: str = "µV ünïcode ✓ 🎛"


SESSION = uuid.UUID("4c9db902-eb35-11f1-a886-02fc00000001")
PROCESS = uuid.UUID("4ca8563c-eb35-11f1-a886-02fc00000001")


def snapshot_value(settings: object) -> SettingsSnapshotValue:
    return SettingsSnapshotValue(
        serialized=pickle.dumps(settings),
        repr_value=settings_repr_value(settings),
        structured_value=settings_structured_value(settings),
        settings_schema=settings_schema_from_value(settings),
    )


def settings_event(seq: int, kind: SettingsEventType, address: str, settings: object, process: uuid.UUID | None) -> SettingsChangedEvent:
    return SettingsChangedEvent(
        seq=seq,
        event_type=kind,
        component_address=address,
        timestamp=1795874973.3634849 + seq,
        source_session_id=str(SESSION),
        source_process_id=process,
        value=snapshot_value(settings),
    )


def graph_snapshot() -> GraphSnapshot:
    gain_settings = GainSettings()
    unit = UnitMetadata(
        address="SYS/GAIN",
        name="GAIN",
        component_type="demo.Gain",
        settings_type="demo.GainSettings",
        initial_settings=(pickle.dumps(gain_settings), settings_repr_value(gain_settings)),
        dynamic_settings=DynamicSettingsMetadata(True, "SYS/GAIN/INPUT_SETTINGS", "demo.GainSettings"),
        settings_schema=settings_schema_from_value(gain_settings),
        streams={
            "INPUT_SETTINGS": InputStreamMetadata("INPUT_SETTINGS", "SYS/GAIN/INPUT_SETTINGS", "demo.GainSettings"),
            "OUTPUT": OutputStreamMetadata("OUTPUT", "SYS/GAIN/OUTPUT", "builtins.float", num_buffers=32),
        },
        tasks=[TaskMetadata("on_settings", "SYS/GAIN/INPUT_SETTINGS", [])],
        main=None,
        threads=[],
    )
    coll = CollectionMetadata(
        address="SYS",
        name="SYS",
        component_type="demo.System",
        settings_type="ezmsg.core.settings.Settings",
        initial_settings=(None, "Settings()"),
        dynamic_settings=DynamicSettingsMetadata(False, None, None),
        settings_schema=None,
        topics={"T": TopicMetadata("T", "SYS/T", "builtins.int")},
        relays={},
        children=["SYS/GAIN"],
    )
    edge = Edge("SYS/GAIN/OUTPUT", "SYS/SINK/INPUT")
    return GraphSnapshot(
        graph={"SYS/GAIN/OUTPUT": ["SYS/SINK/INPUT"], "SYS/SINK/INPUT": []},
        edge_owners={edge: [str(SESSION), "persistent"]},
        sessions={
            str(SESSION): SnapshotSession(edges=[edge], metadata=GraphMetadata(1, "SYS", {"SYS": coll, "SYS/GAIN": unit})),
            "6ba1aa7a-eb35-11f1-a886-02fc00000001": SnapshotSession(edges=[], metadata=None),
        },
        processes={PROCESS: SnapshotProcess(PROCESS, 4242, "localhost", ["SYS/GAIN"])},
    )


class RunsCommand:
    """Unpickling this in Python would run a shell command. Our decoder must only describe it."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/nwb-settings-pickle-pwned",))


def edge_cases() -> dict[str, tuple[object, str]]:
    shared = [1, 2]
    return {
        "ints": (
            [0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -(2**31), 2**31, 2**53 + 1, 2**64, -(2**70), 2**1000, -(2**3000)],
            "BININT1/BININT2/BININT boundaries, LONG1 and LONG4 (2**3000 needs more than 255 bytes)",
        ),
        "floats": ([0.0, -0.0, 1.0, 2.0, 2.5, -1e-300, 1e308, float("nan"), float("inf"), float("-inf")], "BINFLOAT incl. -0.0, NaN, inf"),
        "strings": (["", "a", "µV ✓ 🎛", "x" * 300, "\x00\n"], "SHORT_BINUNICODE, BINUNICODE (>255 bytes), non-BMP"),
        "bytes": ([b"", b"\x00\xff", bytes(range(256)) + b"x" * 44], "SHORT_BINBYTES, BINBYTES"),
        "bytearray": (bytearray(b"\x01\x02\x03"), "BYTEARRAY8 (protocol 5) or REDUCE builtins.bytearray"),
        "sets": ([{1, 2, 3}, frozenset({"a"}), set(), frozenset()], "EMPTY_SET/ADDITEMS/FROZENSET or REDUCE builtins.set"),
        "tuples": ([(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((), ((),))], "EMPTY_TUPLE, TUPLE1-3, MARK+TUPLE"),
        "dicts": ({"a": {"b": {"c": [1, {"d": None}]}}, (1, "k"): True, 3: 4.5, None: False}, "nested dicts, tuple/int/None keys"),
        "shared": ({"x": shared, "y": shared, "z": [shared, shared]}, "one list referenced four times (memo)"),
        "long_list": (list(range(1500)), "APPENDS in batches of 1000"),
        "runs_command": (RunsCommand(), "REDUCE(posix.system, ('echo pwned …',)) must decode as an inert record"),
        "uuid": (uuid.UUID("12345678-1234-5678-1234-567812345678"), "uuid.UUID -> canonical string"),
        "enum": (SettingsEventType.SETTINGS_UPDATED, "enum member via REDUCE(cls, (value,))"),
    }


def ezmsg_objects() -> dict[str, tuple[object, str]]:
    initial = ez.Settings()
    gain = GainSettings()
    ev_initial = settings_event(1, SettingsEventType.INITIAL_SETTINGS, "SYS", initial, None)
    ev_update = settings_event(2, SettingsEventType.SETTINGS_UPDATED, "SYS/GAIN", gain, PROCESS)
    repr_only = SettingsChangedEvent(
        seq=3,
        event_type=SettingsEventType.SETTINGS_UPDATED,
        component_address="SYS/OPAQUE",
        timestamp=1795874999.5,
        source_session_id=None,
        source_process_id=None,
        value=SettingsSnapshotValue(serialized=None, repr_value="Opaque(x=1)", structured_value=None),
    )
    return {
        "event_initial": (ev_initial, "SettingsChangedEvent INITIAL_SETTINGS, empty settings, no process"),
        "event_update": (ev_update, "SettingsChangedEvent SETTINGS_UPDATED with int/float/str/bool/list/nested dataclass"),
        "event_repr_only": (repr_only, "SettingsChangedEvent whose value has only a repr string, no session"),
        "events_list": ([ev_initial, ev_update, repr_only], "SESSION_SETTINGS_EVENTS reply"),
        "settings_snapshot": ({"SYS": ev_initial.value, "SYS/GAIN": ev_update.value}, "SESSION_SETTINGS_SNAPSHOT reply"),
        "graph_snapshot": (graph_snapshot(), "SESSION_SNAPSHOT reply: sessions with and without metadata, Edge keys, UUID keys"),
    }


def main() -> int:
    GENERATED.mkdir(parents=True, exist_ok=True)
    for old in GENERATED.glob("*.pkl"):
        old.unlink()
    vectors = []
    groups = [("ezmsg", ezmsg_objects()), ("edge", edge_cases())]
    for group, objects in groups:
        for name, (obj, description) in objects.items():
            for protocol in (2, 3, 4, 5):
                file = f"{group}_{name}.p{protocol}.pkl"
                (GENERATED / file).write_bytes(pickle.dumps(obj, protocol=protocol))
                vectors.append(
                    {
                        "file": file,
                        "group": group,
                        "name": name,
                        "protocol": protocol,
                        "description": description,
                        "expected": typed(obj, protocol),
                    }
                )
    meta = {
        "generator": "test/interop/make_ezmsg_vectors.py",
        "ezmsg_version": ez.__version__,
        "python": sys.version.split()[0],
        "vectors": vectors,
    }
    (GENERATED / "vectors.json").write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")

    expected = {}
    for path in sorted(CAPTURED.glob("*.bin")):
        if "transcript" in path.name:
            continue
        expected[path.name] = typed(pickle.loads(path.read_bytes()))
    (CAPTURED / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {GENERATED} and expectations for {len(expected)} captured payloads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
