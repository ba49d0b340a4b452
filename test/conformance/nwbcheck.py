"""Conformance helpers: read, validate, inspect and lay out NWB files with the real Python tools.

Importable by the pytest suite and usable from the command line for debugging a file:

    .venv/bin/python test/conformance/nwbcheck.py check FILE.nwb
    .venv/bin/python test/conformance/nwbcheck.py layout FILE.nwb
    .venv/bin/python test/conformance/nwbcheck.py compare OURS.nwb REFERENCE.nwb

Python is test tooling only here: nothing in this module is used by the product.
"""

from __future__ import annotations

import fnmatch
import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import h5py
import numpy as np

# ---------------------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------------------


@dataclass
class Series:
    """One TimeSeries-like object as pynwb reads it."""

    neurodata_type: str
    data: list  # decoded to Python values (str for text)
    timestamps: list[float]
    description: str
    unit: Optional[str]


@dataclass
class Table:
    """One DynamicTable (e.g. TimeIntervals) as pynwb reads it."""

    neurodata_type: str
    description: str
    colnames: list[str]
    columns: dict[str, list]  # column name -> values as pynwb returns them (numpy scalars/arrays kept)
    ids: list[int]


@dataclass
class NwbContent:
    """What pynwb read from a file, detached from the open file so tests can assert on it."""

    path: str
    nwb_version: Optional[str]
    identifier: str
    session_description: str
    session_start_time: Any  # datetime
    timestamps_reference_time: Any
    file_create_date: list
    general: dict[str, Any]
    subject: Optional[dict[str, Any]]
    acquisition: dict[str, Series | Table]
    intervals: dict[str, Table]


def _text(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v


def _series(ts: Any) -> Series:
    data = ts.data[:] if ts.data is not None else []
    return Series(
        neurodata_type=type(ts).__name__,
        data=[_text(x) for x in (data.tolist() if isinstance(data, np.ndarray) else list(data))],
        timestamps=[float(t) for t in (ts.timestamps[:] if ts.timestamps is not None else [])],
        description=ts.description,
        unit=getattr(ts, "unit", None),
    )


def _table(t: Any) -> Table:
    cols: dict[str, list] = {}
    for name in t.colnames:
        col = t[name]
        cols[name] = [col[i] for i in range(len(col))]
    return Table(
        neurodata_type=type(t).__name__,
        description=t.description,
        colnames=list(t.colnames),
        columns=cols,
        ids=[int(i) for i in t.id[:]],
    )


def read(path: str | Path) -> NwbContent:
    """Read a file with pynwb's NWBHDF5IO and return plain data. Raises whatever pynwb raises."""
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        # Reading AnnotationSeries warns that the type is deprecated (pynwb >= 4); that is not a read error.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        with NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            acquisition: dict[str, Series | Table] = {}
            for name, obj in f.acquisition.items():
                if hasattr(obj, "colnames"):
                    acquisition[name] = _table(obj)
                else:
                    acquisition[name] = _series(obj)
            intervals = {name: _table(obj) for name, obj in (f.intervals or {}).items()}
            general = {
                # list-valued fields come back as lists, arrays or lazy StrDatasets: materialize them now
                k: (v if isinstance(v, (str, bytes)) else list(v[:]) if hasattr(v, "__getitem__") else v)
                for k in (
                    "experimenter",
                    "institution",
                    "lab",
                    "experiment_description",
                    "session_id",
                    "keywords",
                    "notes",
                    "protocol",
                    "related_publications",
                )
                if (v := getattr(f, k, None)) is not None
            }
            general = {k: ([_text(x) for x in v] if isinstance(v, list) else _text(v)) for k, v in general.items()}
            subject = None
            if f.subject is not None:
                subject = {
                    k: _text(getattr(f.subject, k))
                    for k in ("subject_id", "species", "sex", "age", "description", "genotype", "strain")
                    if getattr(f.subject, k, None) is not None
                }
            with h5py.File(str(path), "r") as h:
                nwb_version = _text(h.attrs.get("nwb_version"))
            return NwbContent(
                path=str(path),
                nwb_version=nwb_version,
                identifier=f.identifier,
                session_description=f.session_description,
                session_start_time=f.session_start_time,
                timestamps_reference_time=f.timestamps_reference_time,
                file_create_date=list(f.file_create_date or []),
                general=general,
                subject=subject,
                acquisition=acquisition,
                intervals=intervals,
            )


# ---------------------------------------------------------------------------------------------------
# validate / inspect
# ---------------------------------------------------------------------------------------------------


def validate(path: str | Path) -> list[str]:
    """pynwb 4.2 schema validation (`pynwb.validate(path=...)`, which returns a list of errors).

    Runs twice: against the namespaces cached in the file (falls back to pynwb's core namespace when
    the file has none), and against pynwb's own bundled core namespace, so a lax or stale cached spec
    cannot hide an error. Returns every error as "[which] location: reason" text; empty means valid.
    """
    from pynwb import validate as pynwb_validate

    errors: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, cached in (("cached-spec", True), ("pynwb-core", False)):
            for e in pynwb_validate(path=str(path), use_cached_namespaces=cached):
                errors.append(f"[{label}] {getattr(e, 'location', '?')}: {getattr(e, 'reason', e)} ({type(e).__name__})")
    return errors


@dataclass
class InspectResult:
    gate: list[str] = field(default_factory=list)  # ERROR, PYNWB_VALIDATION, CRITICAL, BEST_PRACTICE_VIOLATION
    info: list[str] = field(default_factory=list)  # BEST_PRACTICE_SUGGESTION: reported, never fails a test


def inspect(path: str | Path, config: Optional[str] = None) -> InspectResult:
    """nwbinspector 0.7 messages. `gate` holds everything at BEST_PRACTICE_VIOLATION or above (this
    includes read errors and pynwb validation errors, which the inspector reports at ERROR and
    PYNWB_VALIDATION); `info` holds lower-importance suggestions for the report only.
    `config="dandi"` applies the DANDI configuration (`nwbinspector --config dandi`), which raises
    some checks' importance (e.g. a missing subject, species or sex to CRITICAL)."""
    from nwbinspector import Importance, inspect_nwbfile, load_config

    out = InspectResult()
    kwargs = {"config": load_config(filepath_or_keyword=config)} if config else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = [m for m in inspect_nwbfile(nwbfile_path=str(path), **kwargs) if m is not None]
    for m in messages:
        text = f"{m.importance.name} {m.check_function_name} at {m.location or '/'} ({m.object_type} {m.object_name}): {m.message}"
        if m.importance.value >= Importance.BEST_PRACTICE_VIOLATION.value:
            out.gate.append(text)
        else:
            out.info.append(text)
    return out


# ---------------------------------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------------------------------

_CSET = {h5py.h5t.CSET_ASCII: "ascii", h5py.h5t.CSET_UTF8: "utf-8"}


def describe_type(tid: h5py.h5t.TypeID) -> str:
    """HDF5 datatype as compact text: str(vlen,utf-8), str(fixed 24,ascii), int64, uint8, float64,
    enum(int8:FALSE=0,TRUE=1), ref(object), compound{...}, vlen(float64), array[3](float64)."""
    cls = tid.get_class()
    if cls == h5py.h5t.STRING:
        size = "vlen" if tid.is_variable_str() else f"fixed {tid.get_size()}"
        return f"str({size},{_CSET.get(tid.get_cset(), tid.get_cset())})"
    order = ""
    if cls in (h5py.h5t.INTEGER, h5py.h5t.FLOAT) and tid.get_order() == h5py.h5t.ORDER_BE:
        order = ",big-endian"
    if cls == h5py.h5t.INTEGER:
        signed = tid.get_sign() == h5py.h5t.SGN_2
        return f"{'int' if signed else 'uint'}{tid.get_size() * 8}{order}"
    if cls == h5py.h5t.FLOAT:
        return f"float{tid.get_size() * 8}{order}"
    if cls == h5py.h5t.ENUM:
        members = ",".join(f"{tid.get_member_name(i).decode()}={tid.get_member_value(i)}" for i in range(tid.get_nmembers()))
        return f"enum({describe_type(tid.get_super())}:{members})"
    if cls == h5py.h5t.REFERENCE:
        if tid.equal(h5py.h5t.STD_REF_OBJ):
            return "ref(object)"
        if tid.equal(h5py.h5t.STD_REF_DSETREG):
            return "ref(region)"
        return f"ref(size {tid.get_size()})"
    if cls == h5py.h5t.COMPOUND:
        members = ",".join(
            f"{tid.get_member_name(i).decode()}:{describe_type(tid.get_member_type(i))}" for i in range(tid.get_nmembers())
        )
        return f"compound{{{members}}}"
    if cls == h5py.h5t.VLEN:
        return f"vlen({describe_type(tid.get_super())})"
    if cls == h5py.h5t.ARRAY:
        return f"array{list(tid.get_array_dims())}({describe_type(tid.get_super())})"
    if cls == h5py.h5t.BITFIELD:
        return f"bitfield{tid.get_size() * 8}"
    if cls == h5py.h5t.OPAQUE:
        return f"opaque{tid.get_size()}"
    return f"class{cls}"


def _space(space: h5py.h5s.SpaceID) -> tuple[str, Optional[tuple], Optional[tuple]]:
    kind = space.get_simple_extent_type()
    if kind == h5py.h5s.SCALAR:
        return "scalar", (), None
    if kind == h5py.h5s.NULL:
        return "null", None, None
    dims = tuple(int(d) for d in space.get_simple_extent_dims())
    maxdims = tuple(None if d == h5py.h5s.UNLIMITED else int(d) for d in space.get_simple_extent_dims(maxdims=True))
    return "array", dims, maxdims


def _plain(v: Any) -> Any:
    """Attribute / small dataset value as comparable plain Python (text decoded, arrays to lists)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, h5py.Reference):
        return "<object reference>"
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()] if v.dtype != object else [_plain(x) for x in v]
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _short(v: Any, limit: int = 160) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 20] + f"...<{len(r)} chars>"


@dataclass
class Entry:
    """One object in the layout: a group, dataset, attribute or link."""

    path: str  # /a/b for objects, /a/b@attr for attributes
    kind: str  # group | dataset | attribute | softlink | externallink
    props: dict[str, Any]

    def line(self) -> str:
        order = ("type", "space", "shape", "maxshape", "storage", "chunks", "filters", "neurodata_type", "namespace", "value", "target")
        shown = [f"{k}={_short(self.props[k])}" if k == "value" else f"{k}={self.props[k]}" for k in order if k in self.props]
        return f"{self.kind:<9} {self.path}  " + " ".join(shown)


# Values are recorded for attributes and for datasets with at most this many elements (small
# metadata such as identifier, dates, unit); big data arrays are compared by type and shape only.
_VALUE_LIMIT = 16


def _value_repr(v: Any) -> Any:
    v = _plain(v)
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def dump_layout(path: str | Path) -> dict[str, Entry]:
    """Every group, dataset, attribute and link of an HDF5 file, keyed by path (attributes as
    `path@name`), with kind, datatype (string: vlen vs fixed, UTF-8 vs ASCII), scalar vs array,
    shape, maxshape, storage (contiguous/chunked/compact), chunk shape, filters, the NWB
    `neurodata_type`/`namespace`, and the value of attributes and small datasets."""
    entries: dict[str, Entry] = {}

    def attrs(obj: h5py.HLObject, opath: str) -> dict[str, str]:
        typed: dict[str, str] = {}
        for name in obj.attrs.keys():
            aid = h5py.h5a.open(obj.id, name.encode("utf-8"))
            space, shape, _ = _space(aid.get_space())
            props: dict[str, Any] = {"type": describe_type(aid.get_type()), "space": space}
            if space == "array":
                props["shape"] = shape
            try:
                props["value"] = _value_repr(obj.attrs[name])
            except Exception as exc:  # unreadable attribute value: record why
                props["value"] = f"<unreadable: {exc}>"
            entries[f"{opath}@{name}"] = Entry(f"{opath}@{name}", "attribute", props)
            if name in ("neurodata_type", "namespace"):
                typed[name] = props["value"]
        return typed

    def visit(group: h5py.Group, gpath: str) -> None:
        typed = attrs(group, gpath or "/")
        entries[gpath or "/"] = Entry(gpath or "/", "group", dict(typed))
        for name in group.keys():
            cpath = f"{gpath}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                entries[cpath] = Entry(cpath, "softlink", {"target": link.path})
                continue
            if isinstance(link, h5py.ExternalLink):
                entries[cpath] = Entry(cpath, "externallink", {"target": f"{link.filename}:{link.path}"})
                continue
            obj = group[name]
            if isinstance(obj, h5py.Group):
                visit(obj, cpath)
                continue
            space, shape, maxshape = _space(obj.id.get_space())
            props: dict[str, Any] = {"type": describe_type(obj.id.get_type()), "space": space}
            if space == "array":
                props["shape"] = shape
                props["maxshape"] = maxshape
            dcpl = obj.id.get_create_plist()
            layout = dcpl.get_layout()
            props["storage"] = {h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked", h5py.h5d.COMPACT: "compact"}.get(
                layout, str(layout)
            )
            if layout == h5py.h5d.CHUNKED:
                props["chunks"] = tuple(dcpl.get_chunk())
            nfilters = dcpl.get_nfilters()
            if nfilters:
                props["filters"] = [dcpl.get_filter(i)[0] for i in range(nfilters)]
            props.update(attrs(obj, cpath))
            if obj.size <= _VALUE_LIMIT and space != "null":
                try:
                    props["value"] = _value_repr(obj[()])
                except Exception as exc:
                    props["value"] = f"<unreadable: {exc}>"
            entries[cpath] = Entry(cpath, "dataset", props)

    with h5py.File(str(path), "r") as f:
        visit(f, "")
    return dict(sorted(entries.items()))


@dataclass(frozen=True)
class Allowed:
    """A documented harmless difference: objects matching `pattern` (fnmatch on the layout path,
    attributes as `path@name`) may differ in `prop` ("value", "chunks", ..., "presence" = may exist
    in only one file, "*" = anything). `reason` says why this cannot matter to a reader."""

    pattern: str
    prop: str
    reason: str

    def covers(self, path: str, prop: str) -> bool:
        return fnmatch.fnmatchcase(path, self.pattern) and (self.prop == "*" or self.prop == prop)


# The documented harmless differences between a file we write and one pynwb writes from the same
# input. Everything not listed here must match exactly: kinds, datatypes (incl. string vlen/fixed and
# UTF-8/ASCII), scalar vs array, shapes, neurodata_type/namespace and attribute values.
ALLOWED: tuple[Allowed, ...] = (
    Allowed("*@object_id", "value", "a fresh random UUID per object, by NWB design"),
    Allowed("/identifier", "value", "random UUID unless --meta gives one (then the metadata test checks it)"),
    Allowed("/file_create_date", "value", "the moment each file was written"),
    Allowed("/session_start_time", "value", "derived from the clock when the log has no Unix-time stamps; "
            "its meaning is checked by the time-origin tests, not the layout"),
    Allowed("/timestamps_reference_time", "value", "as /session_start_time"),
    Allowed("/session_description", "value", "free text; the tool's default when --meta gives none (checked by the metadata test)"),
    Allowed("/acquisition/*@description", "value", "free-text description of each series"),
    # Storage: an appendable writer needs chunked, unlimited datasets; pynwb writes a finished list
    # contiguously with a fixed shape. Readers see the same type, shape and values either way.
    Allowed("*", "storage", "contiguous vs chunked storage is invisible to readers"),
    Allowed("*", "chunks", "chunk shape is a write-performance choice"),
    Allowed("*", "maxshape", "unlimited vs fixed maximum shape: appendable datasets must be resizable"),
    # Row text: the row tests parse every row and compare it semantically with the expected JSON;
    # the spelling (escapes, number formatting, spacing) of equal JSON may differ between writers.
    Allowed("/acquisition/*/data", "value", "row JSON is compared semantically by the row tests, not as bytes"),
    # Schema version. We declare NWB 2.8.0; pynwb 4.2 writes its bundled core 2.11.0. A 2.8.0 file
    # that conforms is readable by pynwb 4.2 and validate() also checks it against pynwb's core.
    Allowed("/@nwb_version", "value", "declared schema version (2.8.0) vs pynwb 4.2's bundled core (2.11.0); "
            "validate() checks our file against pynwb's core as well"),
    # Cached specifications (if both files have them): paths are compared with the version
    # segment replaced by {version}, the version itself is compared on the namespace group.
    Allowed("/specifications/*", "value", "schema documents differ between schema versions"),
    Allowed("/specifications/*/{version}", "version", "schema version of a cached namespace; see /@nwb_version"),
    Allowed("/specifications/*/{version}/*", "presence", "the set of schema source files differs between versions"),
)


@dataclass
class Difference:
    path: str
    prop: str
    ours: Any
    reference: Any
    allowed_by: Optional[Allowed] = None
    below: int = 0  # for presence: objects and attributes below the missing object

    def __str__(self) -> str:
        tag = f"  (allowed: {self.allowed_by.reason})" if self.allowed_by else ""
        if self.prop == "presence":
            where = "only in ours" if self.ours is not None else "only in the pynwb reference"
            shown = self.ours if self.ours is not None else self.reference
            more = f" (+{self.below} objects/attributes below it)" if self.below else ""
            return f"{self.path}: {where}: {shown.line() if isinstance(shown, Entry) else shown}{more}{tag}"
        return f"{self.path}: {self.prop}: ours={_short(self.ours)} reference={_short(self.reference)}{tag}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _normalize_specs(layout: dict[str, Entry]) -> dict[str, Entry]:
    """/specifications/NS/VERSION/... -> /specifications/NS/{version}/... with the version recorded
    as a property, so files caching different schema versions compare structurally."""
    out: dict[str, Entry] = {}
    for path, e in layout.items():
        parts = path.split("/")
        if len(parts) >= 4 and parts[1] == "specifications":
            version = parts[3].split("@", 1)[0]
            parts[3] = "{version}" + parts[3][len(version):]
            path = "/".join(parts)
            if path == f"/specifications/{parts[2]}/{{version}}":
                e = Entry(path, e.kind, {**e.props, "version": version})
            else:
                e = Entry(path, e.kind, e.props)
        out[path] = e
    return out


def _is_below(p: str, ancestor: str) -> bool:
    owner = p.split("@", 1)[0]
    if "@" in p and owner == ancestor:
        return True
    return owner.startswith(ancestor.rstrip("/") + "/")


def _ancestors(path: str) -> list[str]:
    """Objects above `path`: its owner (for an attribute `p@a`) and every enclosing group but the root."""
    owner = path.split("@", 1)[0]
    parts = owner.split("/")
    found = [owner] if "@" in path else []
    return found + ["/".join(parts[:i]) for i in range(2, len(parts))]


def layout_differences(
    ours: dict[str, Entry], reference: dict[str, Entry], allowed: Iterable[Allowed] = ALLOWED
) -> list[Difference]:
    """Every difference between two layouts, each marked with the Allowed rule that covers it (if any)."""
    allowed = tuple(allowed)
    ours, reference = _normalize_specs(ours), _normalize_specs(reference)

    def rule(path: str, prop: str) -> Optional[Allowed]:
        return next((a for a in allowed if a.covers(path, prop)), None)

    diffs: list[Difference] = []
    for path in sorted(set(ours) | set(reference)):
        a, b = ours.get(path), reference.get(path)
        if a is None or b is None:
            # an object missing on one side is reported once, with the number of objects and
            # attributes below it (which are then not reported one by one)
            has, lacks = (reference, ours) if a is None else (ours, reference)
            if any(x in has and x not in lacks for x in _ancestors(path)):
                continue
            below = sum(1 for p in has if p != path and _is_below(p, path))
            diffs.append(Difference(path, "presence", a, b, rule(path, "presence"), below))
            continue
        if a.kind != b.kind:
            diffs.append(Difference(path, "kind", a.kind, b.kind, rule(path, "kind")))
            continue
        for prop in sorted(set(a.props) | set(b.props)):
            va, vb = a.props.get(prop, "<absent>"), b.props.get(prop, "<absent>")
            if not _same(va, vb):
                diffs.append(Difference(path, prop, va, vb, rule(path, prop)))
    return diffs


def compare_layout(ours: str | Path, reference: str | Path, allowed: Iterable[Allowed] = ALLOWED) -> list[str]:
    """Human-readable differences between our file and the pynwb reference that are NOT covered by
    `allowed`. Empty means the layouts match. Each line names the path, the property and both values,
    e.g. `/acquisition/x/data@unit: type: ours='str(fixed 4,ascii)' reference='str(vlen,utf-8)'`."""
    return [str(d) for d in layout_differences(dump_layout(ours), dump_layout(reference), allowed) if d.allowed_by is None]


def format_layout(layout: dict[str, Entry]) -> str:
    return "\n".join(e.line() for e in layout.values())


# ---------------------------------------------------------------------------------------------------
# command line (debugging aid)
# ---------------------------------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "layout":
        print(format_layout(dump_layout(argv[1])))
        return 0
    if len(argv) >= 3 and argv[0] == "compare":
        diffs = layout_differences(dump_layout(argv[1]), dump_layout(argv[2]))
        bad = [d for d in diffs if d.allowed_by is None]
        for d in diffs:
            print(("DIFF    " if d.allowed_by is None else "allowed ") + str(d))
        print(f"{len(bad)} difference(s) not allowed, {len(diffs) - len(bad)} allowed")
        return 1 if bad else 0
    if len(argv) >= 2 and argv[0] == "check":
        rc = 0
        try:
            c = read(argv[1])
            print(f"read: ok ({len(c.acquisition)} acquisition objects, {len(c.intervals)} interval tables)")
        except Exception as exc:
            print(f"read: FAILED: {exc!r}")
            rc = 1
        errs = validate(argv[1])
        print(f"validate: {len(errs)} error(s)")
        for e in errs:
            print("  " + e)
        res = inspect(argv[1])
        print(f"inspect: {len(res.gate)} at BEST_PRACTICE_VIOLATION or above, {len(res.info)} suggestion(s)")
        for m in res.gate + res.info:
            print("  " + m)
        return 1 if rc or errs or res.gate else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
