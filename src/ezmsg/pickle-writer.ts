/**
 * A pickle *writer* for the few things we send to an ezmsg 3.9 process: plain values and the one
 * request wrapper `update_setting` needs. It is whitelisted by construction — there is no way to
 * name an arbitrary class:
 *
 * - `null` → None, `boolean` → bool, `bigint` → int (any size), `number` → float,
 *   `string` → str (lone surrogates kept, as Python's `surrogatepass`), `Array` → list,
 *   {@link PyTuple} → tuple, `Map` with str/int/float/bool/None/tuple keys → dict (insertion order);
 * - {@link PyDataclass} → an instance of one of {@link PICKLE_WRITER_CLASSES} built the way
 *   CPython pickles a dataclass (`STACK_GLOBAL`, `EMPTY_TUPLE`, `NEWOBJ`, field dict, `BUILD`).
 *
 * Anything else (a plain JS object, a function, `undefined`, a typed array, a class not in the
 * list, a cycle, nesting past `maxDepth`) throws {@link PickleWriteError} naming the path of the
 * bad value; nothing is written. Output is protocol 4 without FRAME/MEMOIZE opcodes (both are
 * optional), so `pickle.loads` in Python ≥ 3.4 reads it, and our decoder too.
 */

/** Classes {@link PyDataclass} may name: module → class names. Nothing else can be pickled as an object. */
export const PICKLE_WRITER_CLASSES: ReadonlyMap<string, ReadonlySet<string>> = new Map([["ezmsg.core.graphmeta", new Set(["SettingsFieldUpdateRequest"])]]);

/** A Python tuple (arrays are lists). */
export class PyTuple {
  constructor(readonly items: readonly PickleWritable[]) {}
}

/** An instance of a whitelisted dataclass: `module.name(**fields)` (fields in this order). */
export class PyDataclass {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly fields: ReadonlyMap<string, PickleWritable>,
  ) {}
}

export type PickleWritable =
  | null
  | boolean
  | bigint
  | number
  | string
  | readonly PickleWritable[]
  | PyTuple
  | ReadonlyMap<PickleWritable, PickleWritable>
  | PyDataclass;

export class PickleWriteError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`cannot pickle ${path}: ${problem}`);
    this.name = "PickleWriteError";
  }
}

export interface PickleWriteOptions {
  /** Deepest nesting of containers. Default 1000 (CPython's unpickler has no limit, its recursion in pickle.dumps ~1000). */
  maxDepth?: number;
}

const APPENDS_BATCH = 1000; // as CPython's pickler

class Out {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(4096);
  private n = 0;
  private ensure(k: number): void {
    if (this.n + k <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.n));
    this.cur = Buffer.allocUnsafe(Math.max(4096, k));
    this.n = 0;
  }
  byte(b: number): void {
    this.ensure(1);
    this.cur[this.n++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.cur.set(b, this.n);
    this.n += b.length;
  }
  u16(v: number): void {
    this.ensure(2);
    this.cur.writeUInt16LE(v, this.n);
    this.n += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.cur.writeUInt32LE(v, this.n);
    this.n += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.cur.writeInt32LE(v, this.n);
    this.n += 4;
  }
  u64(v: number): void {
    this.ensure(8);
    this.cur.writeBigUInt64LE(BigInt(v), this.n);
    this.n += 8;
  }
  f64be(v: number): void {
    this.ensure(8);
    this.cur.writeDoubleBE(v, this.n);
    this.n += 8;
  }
  done(): Buffer {
    this.chunks.push(this.cur.subarray(0, this.n));
    return Buffer.concat(this.chunks);
  }
}

/** UTF-8 with lone surrogates written as their 3-byte forms (Python's `surrogatepass`). */
export function encodeSurrogatePass(s: string): Uint8Array {
  if (!/[\uD800-\uDFFF]/.test(s)) return Buffer.from(s, "utf8");
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Little-endian two's complement of `v` in the fewest bytes (CPython's `encode_long`). */
function longBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let x = v;
  // Emit bytes until the remaining value is all sign bits and the last byte's top bit agrees.
  for (;;) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
    const top = out[out.length - 1]! & 0x80;
    if ((x === 0n && top === 0) || (x === -1n && top !== 0)) break;
  }
  return Uint8Array.from(out);
}

class Writer {
  private readonly onPath = new Set<object>();
  constructor(
    private readonly out: Out,
    private readonly maxDepth: number,
  ) {}

  str(s: string): void {
    const b = encodeSurrogatePass(s);
    if (b.length < 256) {
      this.out.byte(0x8c); // SHORT_BINUNICODE
      this.out.byte(b.length);
    } else if (b.length <= 0xffffffff) {
      this.out.byte(0x58); // BINUNICODE
      this.out.u32(b.length);
    } else {
      this.out.byte(0x8d); // BINUNICODE8
      this.out.u64(b.length);
    }
    this.out.bytes(b);
  }

  int(v: bigint): void {
    if (v >= 0n && v < 0x100n) {
      this.out.byte(0x4b); // BININT1
      this.out.byte(Number(v));
    } else if (v >= 0n && v < 0x10000n) {
      this.out.byte(0x4d); // BININT2
      this.out.u16(Number(v));
    } else if (v >= -0x80000000n && v <= 0x7fffffffn) {
      this.out.byte(0x4a); // BININT
      this.out.i32(Number(v));
    } else {
      const b = longBytes(v);
      if (b.length < 256) {
        this.out.byte(0x8a); // LONG1
        this.out.byte(b.length);
      } else {
        this.out.byte(0x8b); // LONG4
        this.out.i32(b.length);
      }
      this.out.bytes(b);
    }
  }

  value(v: PickleWritable, path: string, depth: number): void {
    if (v === null) {
      this.out.byte(0x4e); // NONE
      return;
    }
    switch (typeof v) {
      case "boolean":
        this.out.byte(v ? 0x88 : 0x89); // NEWTRUE / NEWFALSE
        return;
      case "bigint":
        this.int(v);
        return;
      case "number":
        this.out.byte(0x47); // BINFLOAT (big-endian)
        this.out.f64be(v);
        return;
      case "string":
        this.str(v);
        return;
      case "object":
        break;
      default:
        throw new PickleWriteError(path, `a ${typeof v} is not a plain value`);
    }
    if (depth >= this.maxDepth) throw new PickleWriteError(path, `nested deeper than ${this.maxDepth} levels`);
    if (this.onPath.has(v)) throw new PickleWriteError(path, "contains itself");
    this.onPath.add(v);
    try {
      this.container(v, path, depth + 1);
    } finally {
      this.onPath.delete(v);
    }
  }

  private items(items: readonly PickleWritable[], path: string, depth: number): void {
    for (const [i, x] of items.entries()) this.value(x, `${path}[${i}]`, depth);
  }

  private container(v: object, path: string, depth: number): void {
    const o = this.out;
    if (Array.isArray(v)) {
      o.byte(0x5d); // EMPTY_LIST
      for (let i = 0; i < v.length; i += APPENDS_BATCH) {
        const batch = v.slice(i, i + APPENDS_BATCH) as PickleWritable[];
        if (batch.length === 1) {
          this.value(batch[0]!, `${path}[${i}]`, depth);
          o.byte(0x61); // APPEND
        } else {
          o.byte(0x28); // MARK
          for (const [j, x] of batch.entries()) this.value(x, `${path}[${i + j}]`, depth);
          o.byte(0x65); // APPENDS
        }
      }
      return;
    }
    if (v instanceof PyTuple) {
      const n = v.items.length;
      if (n === 0) {
        o.byte(0x29); // EMPTY_TUPLE
        return;
      }
      if (n <= 3) {
        this.items(v.items, path, depth);
        o.byte([0x85, 0x86, 0x87][n - 1]!); // TUPLE1..3
        return;
      }
      o.byte(0x28); // MARK
      this.items(v.items, path, depth);
      o.byte(0x74); // TUPLE
      return;
    }
    if (v instanceof Map) {
      o.byte(0x7d); // EMPTY_DICT
      const entries = [...(v as ReadonlyMap<PickleWritable, PickleWritable>)];
      for (let i = 0; i < entries.length; i += APPENDS_BATCH) {
        const batch = entries.slice(i, i + APPENDS_BATCH);
        if (batch.length > 1) o.byte(0x28); // MARK
        for (const [k, x] of batch) {
          if (!isHashableKey(k)) throw new PickleWriteError(`${path} key`, "a dict key must be None/bool/int/float/str or a tuple of them");
          this.value(k, `${path} key`, depth);
          this.value(x, `${path}[${typeof k === "string" ? JSON.stringify(k) : String(k)}]`, depth);
        }
        o.byte(batch.length > 1 ? 0x75 : 0x73); // SETITEMS / SETITEM
      }
      return;
    }
    if (v instanceof PyDataclass) {
      if (!PICKLE_WRITER_CLASSES.get(v.module)?.has(v.name)) {
        throw new PickleWriteError(path, `class ${v.module}.${v.name} is not one the writer may name`);
      }
      this.str(v.module);
      this.str(v.name);
      o.byte(0x93); // STACK_GLOBAL
      o.byte(0x29); // EMPTY_TUPLE
      o.byte(0x81); // NEWOBJ
      this.container(new Map<PickleWritable, PickleWritable>(v.fields), `${path}(${v.name})`, depth);
      o.byte(0x62); // BUILD
      return;
    }
    const what = v instanceof Uint8Array ? "bytes" : (v.constructor?.name ?? "object");
    throw new PickleWriteError(path, `a ${what} is not a plain value (None/bool/int/float/str/list/tuple/dict)`);
  }
}

function isHashableKey(k: PickleWritable): boolean {
  if (k === null || typeof k !== "object") return true;
  return k instanceof PyTuple && k.items.every(isHashableKey);
}

/** Pickle `value` (protocol 4). Throws {@link PickleWriteError} for anything not whitelisted. */
export function encodePickle(value: PickleWritable, options: PickleWriteOptions = {}): Buffer {
  const out = new Out();
  out.byte(0x80); // PROTO
  out.byte(4);
  new Writer(out, options.maxDepth ?? 1000).value(value, "value", 0);
  out.byte(0x2e); // STOP
  return out.done();
}

/** The payload of ezmsg 3.9's `UPDATE_SETTING_FIELD` process request: `SettingsFieldUpdateRequest(field_path, value)`. */
export function settingsFieldUpdateRequest(fieldPath: string, value: PickleWritable): Buffer {
  return encodePickle(
    new PyDataclass(
      "ezmsg.core.graphmeta",
      "SettingsFieldUpdateRequest",
      new Map<string, PickleWritable>([
        ["field_path", fieldPath],
        ["value", value],
      ]),
    ),
  );
}
