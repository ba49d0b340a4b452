/**
 * Attributes as pynwb writes them: text attributes are scalar variable-length UTF-8 strings
 * (never 1-element arrays, which pynwb cannot read), lists of text are 1-D string arrays.
 */
import type { H5Dataset, H5Group } from "./h5wasm.js";

type HasAttrs = H5Group | H5Dataset;

/**
 * The attribute names of each object this module has written to, read from the file once per
 * object: h5wasm's `attrs` asks HDF5 for every name on each call, and a new 200-column table
 * sets ~1,000 attributes (that check was ~8% of a typed-table conversion).
 */
const known = new WeakMap<HasAttrs, Set<string>>();

/** (Re)create attribute `name`: the old one, if any, is removed first. */
function put(obj: HasAttrs, name: string, create: () => void): void {
  let names = known.get(obj);
  if (!names) {
    names = new Set(Object.keys(obj.attrs));
    known.set(obj, names);
  }
  if (names.has(name)) {
    obj.delete_attribute(name);
    names.delete(name);
  }
  create();
  names.add(name);
}

export function setTextAttr(obj: HasAttrs, name: string, value: string): void {
  put(obj, name, () => obj.create_attribute(name, value, null, "S"));
}

export function setTextArrayAttr(obj: HasAttrs, name: string, values: readonly string[]): void {
  put(obj, name, () => obj.create_attribute(name, [...values], [values.length], "S"));
}

export function setFloatAttr(obj: HasAttrs, name: string, value: number): void {
  put(obj, name, () => obj.create_attribute(name, value, null, "<d"));
}

export function setInt64Attr(obj: HasAttrs, name: string, value: bigint): void {
  put(obj, name, () => obj.create_attribute(name, value as unknown as number, null, "<q"));
}

/** The attributes every typed NWB/hdmf object carries. */
export function setTypeAttrs(obj: HasAttrs, namespace: string, neurodataType: string, objectId: string): void {
  setTextAttr(obj, "namespace", namespace);
  setTextAttr(obj, "neurodata_type", neurodataType);
  setTextAttr(obj, "object_id", objectId);
}

export function readTextAttr(obj: HasAttrs, name: string): string | undefined {
  const attr = obj.attrs[name];
  if (!attr) return undefined;
  const v = attr.value;
  return typeof v === "string" ? v : undefined;
}
