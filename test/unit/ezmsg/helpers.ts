/** Test helpers for the ezmsg client tests: fixture paths and the "typed" JSON form of decoded pickles. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PickleClassRef, PickleEnum, PickleObject, PickleSet, type PickleValue } from "../../../src/ezmsg/pickle-values.js";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "fixtures", "ezmsg");
export const CAPTURED = join(FIXTURES, "captured");
export const GENERATED = join(FIXTURES, "generated");

export function fixture(...parts: string[]): Buffer {
  return readFileSync(join(FIXTURES, ...parts));
}

/**
 * The same "typed" JSON form test/interop/make_ezmsg_vectors.py writes for the Python value, so a
 * decoded pickle can be compared with what Python itself unpickled, types included.
 */
export function typed(v: PickleValue): unknown {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "bigint") return { int: v.toString() };
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { float: "nan" };
    if (v === Infinity) return { float: "inf" };
    if (v === -Infinity) return { float: "-inf" };
    return { float: v };
  }
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(typed);
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [typed(k), typed(x)]) };
  if (v instanceof PickleSet) return { [v.kind]: v.items.map(typed) };
  if (v instanceof PickleEnum) return { enum: v.cls.qualifiedName, member: v.member };
  if (v instanceof PickleClassRef) return { class: v.qualifiedName };
  if (v instanceof PickleObject) {
    const out: Record<string, unknown> = {
      object: v.cls.qualifiedName,
      construction: v.construction === "newobj_ex" ? "newobj" : v.construction,
      args: v.args.map(typed),
    };
    if (v.state !== undefined) out.state = typed(v.state);
    return out;
  }
  throw new Error(`untyped value ${String(v)}`);
}
