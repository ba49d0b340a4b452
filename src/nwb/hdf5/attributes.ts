/**
 * Attributes as pynwb writes them: text attributes are scalar variable-length UTF-8 strings
 * (never 1-element arrays, which pynwb cannot read), lists of text are 1-D string arrays.
 */
import type { H5Dataset, H5Group } from "./h5wasm.js";

type HasAttrs = H5Group | H5Dataset;

function replace(obj: HasAttrs, name: string): void {
  if (name in obj.attrs) obj.delete_attribute(name);
}

export function setTextAttr(obj: HasAttrs, name: string, value: string): void {
  replace(obj, name);
  obj.create_attribute(name, value, null, "S");
}

export function setTextArrayAttr(obj: HasAttrs, name: string, values: readonly string[]): void {
  replace(obj, name);
  obj.create_attribute(name, [...values], [values.length], "S");
}

export function setFloatAttr(obj: HasAttrs, name: string, value: number): void {
  replace(obj, name);
  obj.create_attribute(name, value, null, "<d");
}

export function setInt64Attr(obj: HasAttrs, name: string, value: bigint): void {
  replace(obj, name);
  obj.create_attribute(name, value as unknown as number, null, "<q");
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
