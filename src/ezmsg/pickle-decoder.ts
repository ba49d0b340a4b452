/**
 * A pickle decoder (protocols 2–5; ezmsg 3.9's server sends 4) that never executes anything.
 *
 * Safety model:
 * - GLOBAL / STACK_GLOBAL produce a {@link PickleClassRef} (a name, never resolved);
 *   REDUCE / NEWOBJ / NEWOBJ_EX / BUILD produce {@link PickleObject} records. A pickle that would
 *   call `os.system` in Python decodes to a record saying so, and nothing else happens.
 * - Only a table of known constructors (`pickle-reducers.ts`) is turned into data. The default:
 *   `uuid.UUID` (→ string), `builtins.set`/`frozenset`/`bytearray`/`bytes()` and
 *   `_codecs.encode(str, "latin1")` (protocol-2 encodings of sets and bytes), and members of enum
 *   classes listed in `knownEnums`. Callers add tables (`reducers`): numpy arrays, AxisArray.
 * - Out-of-band buffers (protocol 5 `NEXT_BUFFER`/`READONLY_BUFFER`) come from `buffers`, in
 *   order; each must be consumed exactly once (a MessageMarshal payload has no spare buffer).
 * - The opcode loop is iterative; declared lengths are checked against the remaining input and
 *   the limits *before* anything is allocated. The result is then copied into a tree with a
 *   recursion bounded by `maxDepth`, counting every node it emits (shared references count each
 *   time they appear), so a "billion laughs" pickle hits `maxObjects` instead of exhausting
 *   memory, and a self-containing structure is rejected as a cycle.
 * - Every problem is a {@link PickleDecodeError} with a code, the byte offset and a message.
 *   Unknown opcodes, persistent ids and extension codes are errors.
 */
import { BUILTIN_REDUCERS, enumReducers, mergeReducers, type PickleReducerTable, type ReducerContext } from "./pickle-reducers.js";
import { PickleClassRef, PickleEnum, PickleObject, PickleReduced, PickleSet, describePickleValue, type PickleDict, type PickleValue } from "./pickle-values.js";

export type PickleErrorCode =
  | "input_too_large"
  | "truncated"
  | "unknown_opcode"
  | "unsupported_opcode"
  | "unsupported_protocol"
  | "bad_memo"
  | "stack_underflow"
  | "mark_missing"
  | "type_error"
  | "bad_value"
  | "bad_utf8"
  | "limit_exceeded"
  | "cycle"
  | "trailing_data"
  | "missing_buffer"
  | "unused_buffer"
  | "bad_array"
  | "unsupported_dtype"
  | "bad_axisarray";

export class PickleDecodeError extends Error {
  constructor(
    readonly code: PickleErrorCode,
    /** Byte offset of the opcode (or length field) where the problem was found. */
    readonly offset: number,
    readonly problem: string,
    /** What was being decoded, e.g. "SESSION_SETTINGS_EVENTS reply from ezmsg://…", if known. */
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ""}pickle decode failed (${code}) at byte ${offset}: ${problem}`);
    this.name = "PickleDecodeError";
  }
}

export interface PickleDecodeOptions {
  /** Largest input accepted. Default 64 MiB. */
  maxInputBytes?: number;
  /** Deepest container/object nesting in the result, and deepest MARK nesting. Default 200, at most 2000. */
  maxDepth?: number;
  /** Most items in one list/tuple/dict/set (or one APPENDS/SETITEMS batch). Default 1,000,000. */
  maxContainerItems?: number;
  /** Most values created while decoding, and most nodes in the result tree. Default 2,000,000. */
  maxObjects?: number;
  /** Longest str/bytes, in bytes. Default 16 MiB. */
  maxStringBytes?: number;
  /** Longest LONG1/LONG4 integer, in bytes. Default 1024. */
  maxIntBytes?: number;
  /** Most memo entries. Default 1,000,000. */
  maxMemoEntries?: number;
  /**
   * Enum classes whose members are decoded as {@link PickleEnum}: qualified class name → member
   * value → member name. Default: the enums of `ezmsg.core.graphmeta`.
   */
  knownEnums?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Named in error messages ("SESSION_SETTINGS_SNAPSHOT reply from …"). */
  source?: string;
  /**
   * More reducers (qualified name → reducer), merged over the built-in table and the enums;
   * e.g. `NUMPY_REDUCERS`, `AXISARRAY_REDUCERS`.
   */
  reducers?: PickleReducerTable;
  /** Out-of-band buffers that `NEXT_BUFFER` takes in order (protocol 5). Default: none. */
  buffers?: readonly Uint8Array[];
  /** Most bytes reducers may allocate (array copies) for one pickle. Default 1 GiB. */
  maxArrayBytes?: number;
  /**
   * Tuples and lists both decode to arrays; when given, every array of the result that was a
   * Python tuple is added to this set (restore uses it to send a tuple field back as a tuple).
   */
  tuplesOut?: WeakSet<object>;
}

function selfNamedEnum(...members: string[]): ReadonlyMap<string, string> {
  return new Map(members.map((m) => [m, m]));
}

/** ezmsg 3.9's enums (`ezmsg/core/graphmeta.py`); every member's value equals its name. */
export const EZMSG_ENUMS: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  ["ezmsg.core.graphmeta.SettingsEventType", selfNamedEnum("INITIAL_SETTINGS", "SETTINGS_UPDATED")],
  ["ezmsg.core.graphmeta.TopologyEventType", selfNamedEnum("GRAPH_CHANGED", "PROCESS_CHANGED")],
  [
    "ezmsg.core.graphmeta.ProcessControlOperation",
    selfNamedEnum("PING", "GET_PROCESS_STATS", "GET_PROFILING_SNAPSHOT", "SET_PROFILING_TRACE", "GET_PROFILING_TRACE_BATCH", "UPDATE_SETTING_FIELD"),
  ],
  [
    "ezmsg.core.graphmeta.ProcessControlErrorCode",
    selfNamedEnum(
      "UNROUTABLE_UNIT",
      "ROUTE_WRITE_FAILED",
      "TIMEOUT",
      "PROCESS_DISCONNECTED",
      "UNSUPPORTED_OPERATION",
      "HANDLER_NOT_CONFIGURED",
      "HANDLER_ERROR",
      "INVALID_RESPONSE",
    ),
  ],
  ["ezmsg.core.graphmeta.ProfileChannelType", selfNamedEnum("LOCAL", "SHM", "TCP", "UNKNOWN")],
]);

export const DEFAULT_PICKLE_LIMITS = {
  maxInputBytes: 64 * 1024 * 1024,
  // A settings value may nest as deep as any JSON we read (1024 levels, see graph-messages.ts)
  // inside the ~6 levels of an event's envelope; CPython cannot pickle much deeper anyway.
  maxDepth: 1100,
  maxContainerItems: 1_000_000,
  maxObjects: 2_000_000,
  maxStringBytes: 16 * 1024 * 1024,
  maxIntBytes: 1024,
  maxMemoEntries: 1_000_000,
  maxArrayBytes: 1024 * 1024 * 1024,
} as const;

const MAX_DEPTH_CAP = 2000;

/** Opcodes we know but refuse (they need code, registries or out-of-band data, or are protocol 0/1 text forms). */
const UNSUPPORTED: Record<number, string> = {
  0x50: "PERSID (persistent id)",
  0x51: "BINPERSID (persistent id)",
  0x82: "EXT1 (extension registry)",
  0x83: "EXT2 (extension registry)",
  0x84: "EXT4 (extension registry)",
  0x69: "INST (protocol 0 instance)",
  0x6f: "OBJ (protocol 1 instance)",
  0x49: "INT (protocol 0 text int)",
  0x4c: "LONG (protocol 0 text long)",
  0x46: "FLOAT (protocol 0 text float)",
  0x53: "STRING (protocol 0 text string)",
  0x56: "UNICODE (protocol 0 text unicode)",
};

type StackItem = PickleValue;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/**
 * Python's pickle writes a str with UTF-8 "surrogatepass": a lone surrogate (`"\ud800"`, legal
 * in a Python str) becomes the 3 bytes ED A0..BF 80..BF, which strict UTF-8 refuses. A JS string
 * can hold the same lone code unit, so decode those triples to it and everything else strictly;
 * null when anything else is invalid. (Python's two separate surrogates "\ud83d\ude00" become
 * one JS string equal to "😀": JS strings cannot tell them apart.)
 */
export function decodeSurrogatePass(bytes: Uint8Array): string | null {
  let out = "";
  let start = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xed && bytes[i + 1]! >= 0xa0 && bytes[i + 1]! <= 0xbf && bytes[i + 2]! >= 0x80 && bytes[i + 2]! <= 0xbf) {
      try {
        out += utf8.decode(bytes.subarray(start, i));
      } catch {
        return null;
      }
      out += String.fromCharCode(0xd000 | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f));
      i += 2;
      start = i + 1;
    }
  }
  if (start === 0) return null;
  try {
    return out + utf8.decode(bytes.subarray(start));
  } catch {
    return null;
  }
}

class Decoder {
  private pos = 0;
  private opStart = 0;
  private stack: StackItem[] = [];
  private readonly metastack: StackItem[][] = [];
  private readonly memo = new Map<number, StackItem>();
  private created = 0;
  /** Tuples are arrays too; they must not be appended to. */
  private readonly tuples = new WeakSet<object>();
  /** Where each container was created, for error offsets in the tree-building pass. */
  private readonly origin = new WeakMap<object, number>();
  private readonly view: DataView;
  private readonly lim: Required<Omit<PickleDecodeOptions, "source" | "knownEnums" | "reducers" | "buffers" | "tuplesOut">>;
  private readonly reducers: PickleReducerTable;
  private readonly source: string | undefined;
  private readonly buffers: readonly Uint8Array[];
  private readonly tuplesOut: WeakSet<object> | undefined;
  private nextBuffer = 0;
  private arrayBytes = 0;
  /** Reduced values by the call they came from: a memo reference reuses the instance. */
  private readonly reduced = new WeakMap<PickleObject, PickleValue>();

  constructor(
    private readonly data: Uint8Array,
    options: PickleDecodeOptions,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.lim = {
      maxInputBytes: options.maxInputBytes ?? DEFAULT_PICKLE_LIMITS.maxInputBytes,
      maxDepth: Math.min(options.maxDepth ?? DEFAULT_PICKLE_LIMITS.maxDepth, MAX_DEPTH_CAP),
      maxContainerItems: options.maxContainerItems ?? DEFAULT_PICKLE_LIMITS.maxContainerItems,
      maxObjects: options.maxObjects ?? DEFAULT_PICKLE_LIMITS.maxObjects,
      maxStringBytes: options.maxStringBytes ?? DEFAULT_PICKLE_LIMITS.maxStringBytes,
      maxIntBytes: options.maxIntBytes ?? DEFAULT_PICKLE_LIMITS.maxIntBytes,
      maxMemoEntries: options.maxMemoEntries ?? DEFAULT_PICKLE_LIMITS.maxMemoEntries,
      maxArrayBytes: options.maxArrayBytes ?? DEFAULT_PICKLE_LIMITS.maxArrayBytes,
    };
    this.reducers = mergeReducers(BUILTIN_REDUCERS, enumReducers(options.knownEnums ?? EZMSG_ENUMS), options.reducers ?? new Map());
    this.source = options.source;
    this.buffers = options.buffers ?? [];
    this.tuplesOut = options.tuplesOut;
  }

  fail(code: PickleErrorCode, problem: string, at = this.opStart): never {
    throw new PickleDecodeError(code, at, problem, this.source);
  }

  // ---- input ------------------------------------------------------------------------------

  private need(n: number, what: string): void {
    if (n > this.data.length - this.pos) {
      this.fail("truncated", `input ends inside ${what} (needs ${n} more bytes, ${this.data.length - this.pos} left)`);
    }
  }
  private u8(what: string): number {
    this.need(1, what);
    return this.data[this.pos++]!;
  }
  private u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    // Anything past 2^53 is beyond every limit anyway; keep it as an unsafe-but-huge number.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER + 1 : Number(v);
  }
  /** Take `len` bytes after checking the string limit and the remaining input. */
  private take(len: number, what: string): Uint8Array {
    if (len > this.lim.maxStringBytes) {
      this.fail("limit_exceeded", `${what} declares ${len} bytes, more than maxStringBytes=${this.lim.maxStringBytes}`);
    }
    this.need(len, what);
    const out = this.data.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  private line(what: string): string {
    const start = this.pos;
    const limit = Math.min(this.data.length, start + this.lim.maxStringBytes + 1);
    for (let i = start; i < limit; i++) {
      if (this.data[i] === 0x0a) {
        this.pos = i + 1;
        return this.text(this.data.subarray(start, i), what);
      }
    }
    if (limit === this.data.length) this.fail("truncated", `input ends inside ${what} (no newline)`);
    return this.fail("limit_exceeded", `${what} longer than maxStringBytes=${this.lim.maxStringBytes}`);
  }
  private text(bytes: Uint8Array, what: string): string {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && bytes.length <= 4096) return String.fromCharCode(...bytes);
    if (ascii) return latin1.decode(bytes);
    try {
      return utf8.decode(bytes);
    } catch {
      const text = decodeSurrogatePass(bytes);
      return text ?? this.fail("bad_utf8", `${what} is not valid UTF-8`);
    }
  }

  // ---- stack ------------------------------------------------------------------------------

  private count(n = 1): void {
    this.created += n;
    if (this.created > this.lim.maxObjects) {
      this.fail("limit_exceeded", `more than maxObjects=${this.lim.maxObjects} values`);
    }
  }
  private push(v: StackItem): void {
    this.stack.push(v);
  }
  private emit(v: StackItem): void {
    this.count();
    if (typeof v === "object" && v !== null) this.origin.set(v, this.opStart);
    this.stack.push(v);
  }
  private pop(what: string): StackItem {
    if (this.stack.length === 0) {
      this.fail("stack_underflow", `${what} needs a value but the stack is empty${this.metastack.length ? " (above a MARK)" : ""}`);
    }
    return this.stack.pop()!;
  }
  private top(what: string): StackItem {
    if (this.stack.length === 0) this.fail("stack_underflow", `${what} needs a value but the stack is empty`);
    return this.stack[this.stack.length - 1]!;
  }
  private popMark(what: string): StackItem[] {
    const below = this.metastack.pop();
    if (below === undefined) this.fail("mark_missing", `${what} without a preceding MARK`);
    const items = this.stack;
    this.stack = below;
    if (items.length > this.lim.maxContainerItems) {
      this.fail("limit_exceeded", `${what} with ${items.length} items, more than maxContainerItems=${this.lim.maxContainerItems}`);
    }
    return items;
  }
  private checkSize(n: number, what: string): void {
    if (n > this.lim.maxContainerItems) {
      this.fail("limit_exceeded", `${what} grows past maxContainerItems=${this.lim.maxContainerItems}`);
    }
  }
  private tuple(items: StackItem[]): StackItem[] {
    this.tuples.add(items);
    return items;
  }
  private isTuple(v: StackItem): boolean {
    return Array.isArray(v) && this.tuples.has(v);
  }
  private classRef(v: StackItem, what: string): PickleClassRef {
    if (!(v instanceof PickleClassRef)) {
      this.fail("type_error", `${what} expects a class/function reference, got ${describePickleValue(v)}`);
    }
    return v;
  }
  private argTuple(v: StackItem, what: string): PickleValue[] {
    if (!Array.isArray(v) || !this.isTuple(v)) {
      this.fail("type_error", `${what} expects an argument tuple, got ${describePickleValue(v)}`);
    }
    return v;
  }
  private checkKey(k: StackItem, what: string): void {
    if ((Array.isArray(k) && !this.isTuple(k)) || k instanceof Map || (k instanceof PickleSet && k.kind === "set")) {
      this.fail("type_error", `${what}: unhashable key of type ${describePickleValue(k)}`);
    }
  }
  private setItems(target: StackItem, pairs: StackItem[], what: string): void {
    if (pairs.length % 2 !== 0) this.fail("bad_value", `${what} with an odd number of items`);
    if (target instanceof Map) {
      this.checkSize(target.size + pairs.length / 2, what);
      for (let i = 0; i < pairs.length; i += 2) {
        this.checkKey(pairs[i]!, what);
        target.set(pairs[i]!, pairs[i + 1]!);
      }
    } else if (target instanceof PickleObject) {
      this.checkSize(target.dictItems.length + pairs.length / 2, what);
      for (let i = 0; i < pairs.length; i += 2) target.dictItems.push([pairs[i]!, pairs[i + 1]!]);
    } else {
      this.fail("type_error", `${what} on ${describePickleValue(target)} (expected a dict)`);
    }
  }
  private appendItems(target: StackItem, items: StackItem[], what: string): void {
    if (Array.isArray(target) && !this.isTuple(target)) {
      this.checkSize(target.length + items.length, what);
      for (const it of items) target.push(it);
    } else if (target instanceof PickleObject) {
      this.checkSize(target.listItems.length + items.length, what);
      for (const it of items) target.listItems.push(it);
    } else {
      this.fail("type_error", `${what} on ${describePickleValue(target)} (expected a list)`);
    }
  }
  private memoPut(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.lim.maxMemoEntries) {
      this.fail("limit_exceeded", `more than maxMemoEntries=${this.lim.maxMemoEntries} memo entries`);
    }
    this.memo.set(index, this.top("memo store"));
  }
  private memoGet(index: number): void {
    const v = this.memo.get(index);
    if (v === undefined) this.fail("bad_memo", `memo index ${index} was never stored`);
    this.push(v);
  }
  private longFromBytes(bytes: Uint8Array): bigint {
    if (bytes.length === 0) return 0n;
    let hex = "";
    for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, "0");
    let v = BigInt(`0x${hex}`);
    if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
    return v;
  }
  private long(len: number, what: string): bigint {
    if (len > this.lim.maxIntBytes) {
      this.fail("limit_exceeded", `${what} declares ${len} bytes, more than maxIntBytes=${this.lim.maxIntBytes}`);
    }
    this.need(len, what);
    const v = this.longFromBytes(this.data.subarray(this.pos, this.pos + len));
    this.pos += len;
    return v;
  }

  // ---- main loop --------------------------------------------------------------------------

  run(): PickleValue {
    if (this.data.length > this.lim.maxInputBytes) {
      this.fail("input_too_large", `input of ${this.data.length} bytes exceeds maxInputBytes=${this.lim.maxInputBytes}`, 0);
    }
    if (this.data.length === 0) this.fail("truncated", "empty input", 0);
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= this.data.length) this.fail("truncated", "input ends before STOP");
      const op = this.data[this.pos++]!;
      switch (op) {
        case 0x80: {
          // PROTO
          const proto = this.u8("PROTO");
          if (proto < 2 || proto > 5) this.fail("unsupported_protocol", `pickle protocol ${proto} (supported: 2 to 5)`);
          break;
        }
        case 0x95: {
          // FRAME: a length hint; the frame must fit in what is left.
          const len = this.u64("FRAME length");
          if (len > this.data.length - this.pos) {
            this.fail("truncated", `FRAME declares ${len} bytes but only ${this.data.length - this.pos} remain`);
          }
          break;
        }
        case 0x2e: {
          // STOP
          const result = this.pop("STOP");
          if (this.pos !== this.data.length) {
            this.fail("trailing_data", `${this.data.length - this.pos} bytes after STOP`, this.pos);
          }
          if (this.nextBuffer !== this.buffers.length) {
            this.fail("unused_buffer", `${this.buffers.length - this.nextBuffer} of ${this.buffers.length} out-of-band buffers were never used (NEXT_BUFFER)`);
          }
          return this.finish(result);
        }
        case 0x28: // MARK
          if (this.metastack.length >= this.lim.maxDepth) {
            this.fail("limit_exceeded", `MARKs nested deeper than maxDepth=${this.lim.maxDepth}`);
          }
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length === 0 && this.metastack.length > 0) this.popMark("POP");
          else this.pop("POP");
          break;
        case 0x31: // POP_MARK
          this.popMark("POP_MARK");
          break;
        case 0x32: // DUP
          this.push(this.top("DUP"));
          break;

        // -- scalars
        case 0x4e: // NONE
          this.emit(null);
          break;
        case 0x88: // NEWTRUE
          this.emit(true);
          break;
        case 0x89: // NEWFALSE
          this.emit(false);
          break;
        case 0x4a: // BININT
          this.emit(BigInt(this.i32("BININT")));
          break;
        case 0x4b: // BININT1
          this.emit(BigInt(this.u8("BININT1")));
          break;
        case 0x4d: // BININT2
          this.emit(BigInt(this.u16("BININT2")));
          break;
        case 0x8a: // LONG1
          this.emit(this.long(this.u8("LONG1 length"), "LONG1"));
          break;
        case 0x8b: {
          // LONG4
          const len = this.i32("LONG4 length");
          if (len < 0) this.fail("bad_value", `LONG4 with negative length ${len}`);
          this.emit(this.long(len, "LONG4"));
          break;
        }
        case 0x47: {
          // BINFLOAT (big-endian)
          this.need(8, "BINFLOAT");
          const v = this.view.getFloat64(this.pos, false);
          this.pos += 8;
          this.emit(v);
          break;
        }

        // -- strings and bytes
        case 0x8c: // SHORT_BINUNICODE
          this.emit(this.text(this.take(this.u8("SHORT_BINUNICODE length"), "SHORT_BINUNICODE"), "SHORT_BINUNICODE"));
          break;
        case 0x58: // BINUNICODE
          this.emit(this.text(this.take(this.u32("BINUNICODE length"), "BINUNICODE"), "BINUNICODE"));
          break;
        case 0x8d: // BINUNICODE8
          this.emit(this.text(this.take(this.u64("BINUNICODE8 length"), "BINUNICODE8"), "BINUNICODE8"));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str; decoded as Latin-1)
          this.emit(latin1.decode(this.take(this.u8("SHORT_BINSTRING length"), "SHORT_BINSTRING")));
          break;
        case 0x54: {
          // BINSTRING
          const len = this.i32("BINSTRING length");
          if (len < 0) this.fail("bad_value", `BINSTRING with negative length ${len}`);
          this.emit(latin1.decode(this.take(len, "BINSTRING")));
          break;
        }
        case 0x43: // SHORT_BINBYTES
          this.emit(new Uint8Array(this.take(this.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES")));
          break;
        case 0x42: // BINBYTES
          this.emit(new Uint8Array(this.take(this.u32("BINBYTES length"), "BINBYTES")));
          break;
        case 0x8e: // BINBYTES8
          this.emit(new Uint8Array(this.take(this.u64("BINBYTES8 length"), "BINBYTES8")));
          break;
        case 0x96: // BYTEARRAY8
          this.emit(new Uint8Array(this.take(this.u64("BYTEARRAY8 length"), "BYTEARRAY8")));
          break;

        // -- out-of-band buffers (protocol 5)
        case 0x97: {
          // NEXT_BUFFER
          const buf = this.buffers[this.nextBuffer];
          if (buf === undefined) {
            this.fail("missing_buffer", `NEXT_BUFFER #${this.nextBuffer + 1} but only ${this.buffers.length} out-of-band buffers were given`);
          }
          this.nextBuffer++;
          this.emit(buf);
          break;
        }
        case 0x98: {
          // READONLY_BUFFER: marks the top buffer read-only; ours are never written.
          const top = this.top("READONLY_BUFFER");
          if (!(top instanceof Uint8Array)) this.fail("type_error", `READONLY_BUFFER on ${describePickleValue(top)} (expected a buffer)`);
          break;
        }

        // -- containers
        case 0x5d: // EMPTY_LIST
          this.emit([]);
          break;
        case 0x6c: // LIST
          this.emit(this.popMark("LIST"));
          break;
        case 0x61: {
          // APPEND
          const v = this.pop("APPEND");
          this.appendItems(this.top("APPEND"), [v], "APPEND");
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark("APPENDS");
          this.appendItems(this.top("APPENDS"), items, "APPENDS");
          break;
        }
        case 0x29: // EMPTY_TUPLE
          this.emit(this.tuple([]));
          break;
        case 0x74: // TUPLE
          this.emit(this.tuple(this.popMark("TUPLE")));
          break;
        case 0x85: // TUPLE1
          this.emit(this.tuple([this.pop("TUPLE1")]));
          break;
        case 0x86: {
          // TUPLE2
          const b = this.pop("TUPLE2");
          const a = this.pop("TUPLE2");
          this.emit(this.tuple([a, b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.pop("TUPLE3");
          const b = this.pop("TUPLE3");
          const a = this.pop("TUPLE3");
          this.emit(this.tuple([a, b, c]));
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.emit(new Map());
          break;
        case 0x64: {
          // DICT
          const items = this.popMark("DICT");
          const d: PickleDict = new Map();
          this.setItems(d, items, "DICT");
          this.emit(d);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop("SETITEM");
          const k = this.pop("SETITEM");
          this.setItems(this.top("SETITEM"), [k, v], "SETITEM");
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark("SETITEMS");
          this.setItems(this.top("SETITEMS"), items, "SETITEMS");
          break;
        }
        case 0x8f: // EMPTY_SET
          this.emit(new PickleSet("set", []));
          break;
        case 0x90: {
          // ADDITEMS
          const items = this.popMark("ADDITEMS");
          const top = this.top("ADDITEMS");
          const target = top instanceof PickleSet && top.kind === "set" ? top : null;
          if (target === null) this.fail("type_error", `ADDITEMS on ${describePickleValue(top)} (expected a set)`);
          this.checkSize(target.items.length + items.length, "ADDITEMS");
          for (const it of items) {
            this.checkKey(it, "ADDITEMS");
            target.items.push(it);
          }
          break;
        }
        case 0x91: {
          // FROZENSET
          const items = this.popMark("FROZENSET");
          for (const it of items) this.checkKey(it, "FROZENSET");
          this.emit(new PickleSet("frozenset", items));
          break;
        }

        // -- memo
        case 0x94: // MEMOIZE
          this.memoPut(this.memo.size);
          break;
        case 0x71: // BINPUT
          this.memoPut(this.u8("BINPUT index"));
          break;
        case 0x72: // LONG_BINPUT
          this.memoPut(this.u32("LONG_BINPUT index"));
          break;
        case 0x70: // PUT
          this.memoPut(this.decimal(this.line("PUT index"), "PUT index"));
          break;
        case 0x68: // BINGET
          this.memoGet(this.u8("BINGET index"));
          break;
        case 0x6a: // LONG_BINGET
          this.memoGet(this.u32("LONG_BINGET index"));
          break;
        case 0x67: // GET
          this.memoGet(this.decimal(this.line("GET index"), "GET index"));
          break;

        // -- globals and object construction (all inert)
        case 0x63: {
          // GLOBAL
          const module = this.line("GLOBAL module");
          const name = this.line("GLOBAL name");
          this.emit(new PickleClassRef(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop("STACK_GLOBAL");
          const module = this.pop("STACK_GLOBAL");
          if (typeof module !== "string" || typeof name !== "string") {
            this.fail("type_error", `STACK_GLOBAL expects two str, got ${describePickleValue(module)} and ${describePickleValue(name)}`);
          }
          this.emit(new PickleClassRef(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.argTuple(this.pop("REDUCE"), "REDUCE");
          const cls = this.classRef(this.pop("REDUCE"), "REDUCE");
          this.emit(new PickleObject(cls, "reduce", args, null));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.argTuple(this.pop("NEWOBJ"), "NEWOBJ");
          const cls = this.classRef(this.pop("NEWOBJ"), "NEWOBJ");
          this.emit(new PickleObject(cls, "newobj", args, null));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.pop("NEWOBJ_EX");
          if (!(kwargs instanceof Map)) this.fail("type_error", `NEWOBJ_EX expects a kwargs dict, got ${describePickleValue(kwargs)}`);
          const args = this.argTuple(this.pop("NEWOBJ_EX"), "NEWOBJ_EX");
          const cls = this.classRef(this.pop("NEWOBJ_EX"), "NEWOBJ_EX");
          this.emit(new PickleObject(cls, "newobj_ex", args, kwargs));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop("BUILD");
          const target = this.top("BUILD");
          if (!(target instanceof PickleObject)) {
            this.fail("type_error", `BUILD on ${describePickleValue(target)} (expected an object)`);
          }
          if (target.state instanceof Map && state instanceof Map) {
            for (const [k, v] of state) target.state.set(k, v);
          } else {
            target.state = state;
          }
          break;
        }

        default: {
          const name = UNSUPPORTED[op];
          if (name !== undefined) this.fail("unsupported_opcode", `opcode 0x${hex(op)} ${name} is not supported`);
          this.fail("unknown_opcode", `unknown opcode 0x${hex(op)}`);
        }
      }
    }
  }

  private decimal(text: string, what: string): number {
    if (!/^\d{1,9}$/.test(text)) this.fail("bad_value", `${what} is not a decimal index: ${JSON.stringify(text.slice(0, 20))}`);
    return Number(text);
  }

  // ---- result tree ------------------------------------------------------------------------

  private emitted = 0;
  private readonly onPath = new Set<object>();
  private stopOffset = 0;

  private finish(root: StackItem): PickleValue {
    this.stopOffset = this.opStart;
    try {
      return this.build(root, 0);
    } catch (err) {
      if (err instanceof RangeError) this.fail("limit_exceeded", "structure too deep for this runtime", this.stopOffset);
      throw err;
    }
  }

  private at(v: object): number {
    return this.origin.get(v) ?? this.stopOffset;
  }

  private build(v: StackItem, depth: number): PickleValue {
    if (++this.emitted > this.lim.maxObjects) {
      this.fail("limit_exceeded", `result has more than maxObjects=${this.lim.maxObjects} values (shared references count each time)`, this.stopOffset);
    }
    if (v === null || typeof v !== "object" || v instanceof Uint8Array || v instanceof PickleClassRef || v instanceof PickleReduced) return v;
    if (depth >= this.lim.maxDepth) this.fail("limit_exceeded", `nesting deeper than maxDepth=${this.lim.maxDepth}`, this.at(v));
    if (this.onPath.has(v)) this.fail("cycle", `a ${describePickleValue(v as PickleValue)} contains itself`, this.at(v));
    this.onPath.add(v);
    try {
      const d = depth + 1;
      if (Array.isArray(v)) {
        const out = v.map((x) => this.build(x, d));
        if (this.tuplesOut !== undefined && this.tuples.has(v)) this.tuplesOut.add(out);
        return out;
      }
      if (v instanceof Map) {
        const out: PickleDict = new Map();
        for (const [k, x] of v) out.set(this.build(k, d), this.build(x, d));
        return out;
      }
      if (v instanceof PickleSet)
        return new PickleSet(
          v.kind,
          v.items.map((x) => this.build(x, d)),
        );
      if (v instanceof PickleEnum) return v;
      return this.buildObject(v, d);
    } finally {
      this.onPath.delete(v);
    }
  }

  private buildObject(o: PickleObject, d: number): PickleValue {
    const cached = this.reduced.get(o);
    if (cached !== undefined) return cached;
    const args = o.args.map((x) => this.build(x, d));
    const kwargs = o.kwargs === null ? null : (this.build(o.kwargs, d) as PickleDict);
    const state = o.state === undefined ? undefined : this.build(o.state, d);
    const listItems = o.listItems.map((x) => this.build(x, d));
    const dictItems = o.dictItems.map(([k, x]): [PickleValue, PickleValue] => [this.build(k, d), this.build(x, d)]);
    const reducer = this.reducers.get(o.cls.qualifiedName);
    if (reducer !== undefined) {
      const at = this.at(o);
      const ctx: ReducerContext = {
        fail: (code, problem) => this.fail(code, `${o.cls.qualifiedName}: ${problem}`, at),
        chargeBytes: (n, what) => {
          this.arrayBytes += n;
          if (this.arrayBytes > this.lim.maxArrayBytes) {
            this.fail("limit_exceeded", `${what} needs ${n} bytes; arrays of this pickle pass maxArrayBytes=${this.lim.maxArrayBytes}`, at);
          }
        },
      };
      const out = reducer({ cls: o.cls, construction: o.construction, args, kwargs, state, listItems, dictItems }, ctx);
      if (out !== undefined) {
        if (out instanceof PickleReduced) this.reduced.set(o, out);
        return out;
      }
    }
    const out = new PickleObject(o.cls, o.construction, args, kwargs);
    if (state !== undefined) out.state = state;
    out.listItems.push(...listItems);
    out.dictItems.push(...dictItems);
    return out;
  }
}

function hex(op: number): string {
  return op.toString(16).padStart(2, "0");
}

/**
 * Decode one pickle (the whole input, which must end right after STOP) into inert values.
 * Throws {@link PickleDecodeError}; never runs code, never looks anything up.
 */
export function decodePickle(data: Uint8Array, options: PickleDecodeOptions = {}): PickleValue {
  return new Decoder(data, options).run();
}
