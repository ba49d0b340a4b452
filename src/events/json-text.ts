/**
 * JSON text that is checked but not turned into values. {@link canonicalJson} accepts exactly the
 * texts {@link parseJson} accepts (same grammar, Python's NaN/Infinity tokens, lone surrogates,
 * depth limit, duplicate keys) and returns what `stringifyJson(parseJson(text))` would return,
 * without building a single Map, array or bigint: the canonical text is cut from the input, and
 * only the pieces that are not already canonical are rewritten:
 * - whitespace other than Python's ", " and ": " separators;
 * - a float literal whose shortest form differs (`1.50`, `1e-05`, `1E3`), and `-0` (an integer);
 * - a string with an escape or a surrogate (`"\u00e9"` becomes `"é"`, as stringifyJson writes it).
 * The parser's size limits hold too: an array of more than {@link MAX_ARRAY_ITEMS} items or an
 * object of more than {@link MAX_OBJECT_KEYS} keys is refused (the parser then names the limit).
 * Python's `json.dumps` output is canonical except for `ensure_ascii` escapes and exponent floats,
 * so the common line is one slice of the input.
 *
 * Anything the scanner does not accept is handed to the real parser, which throws its own exact
 * error (and would also give the right answer, should the scanner ever refuse good input).
 */
import { DEFAULT_MAX_JSON_DEPTH, MAX_ARRAY_ITEMS, MAX_OBJECT_KEYS, formatFloat, parseJson, parseJsonStringAt, quoteJson, stringifyJson } from "./json.js";

/** Thrown inside the scanner for any text it does not accept (the parser then says why). */
const REFUSED = new Error("refused by the JSON text scanner");

/** Thrown by the plain path for text it does not take as it stands (the rewriting path decides). */
const NOT_PLAIN = new Error("not plain canonical JSON text");

/** Keys per object the plain path compares linearly; bigger objects take the rewriting path. */
const PLAIN_KEYS = 32;

function sameText(t: string, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (t.charCodeAt(a + k) !== t.charCodeAt(b + k)) return false;
  return true;
}

/**
 * `t.startsWith(s, at)` for the few characters of a key or a word, as a loop the JIT inlines (as
 * fast as the builtin at these lengths, measured; a long text is compared as two slices instead:
 * see scanPlainEvent).
 */
export function textAt(t: string, at: number, s: string): boolean {
  const n = s.length;
  if (at + n > t.length) return false;
  for (let k = 0; k < n; k++) if (t.charCodeAt(at + k) !== s.charCodeAt(k)) return false;
  return true;
}

/** The first `"`, `\`, control character or UTF-16 surrogate at or after `lastIndex`. */
const STRING_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/g;

/**
 * The index of the closing quote of the string literal at `at` when the literal is canonical as it
 * stands (no escape, control character or surrogate before it), else -1. Short strings are
 * checked by a loop (cheaper than a regex call), long ones by the regex.
 */
export function plainStringEnd(t: string, at: number): number {
  const limit = Math.min(t.length, at + 64);
  for (let i = at + 1; i < limit; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return -1;
  }
  if (limit === t.length) return -1;
  STRING_SPECIAL.lastIndex = limit;
  if (!STRING_SPECIAL.test(t)) return -1;
  const end = STRING_SPECIAL.lastIndex - 1;
  return t.charCodeAt(end) === 0x22 ? end : -1;
}

/**
 * The end of the number literal at `at` when it is valid and canonical as it stands (an integer
 * other than -0, or a float in the shortest fixed notation formatFloat writes), else -1.
 */
export function plainNumberEnd(t: string, at: number): number {
  let p = at;
  const negative = t.charCodeAt(p) === 0x2d;
  if (negative) p++;
  const from = p;
  let c = t.charCodeAt(p);
  while (c >= 0x30 && c <= 0x39) c = t.charCodeAt(++p);
  const intDigits = p - from;
  if (intDigits === 0) return -1; // also -Infinity: the rewriting path keeps it
  if (t.charCodeAt(from) === 0x30 && intDigits > 1) return -1; // a leading zero
  if (c === 0x2e) {
    c = t.charCodeAt(++p);
    const f = p;
    while (c >= 0x30 && c <= 0x39) c = t.charCodeAt(++p);
    if (p === f) return -1;
    if (c !== 0x65 && c !== 0x45 && !fixedIsShortest(t, from, p)) {
      // 16-17 significant digits (as Python writes 0.1 + 0.2): convert and compare.
      const literal = t.slice(at, p);
      if (formatFloat(Number(literal)) !== literal) return -1;
    }
  } else if (negative && intDigits === 1 && t.charCodeAt(from) === 0x30) return -1; // the integer -0
  if (c === 0x65 || c === 0x45) return -1;
  return p;
}

/** Objects with more keys than this check duplicates with a Set instead of a linear search. */
const LINEAR_KEYS = 12;

export class JsonTextScanner {
  pos = 0;
  private text = "";
  private maxDepth = DEFAULT_MAX_JSON_DEPTH;
  /** Rewritten output so far, and the pending verbatim run of the input [runStart, runEnd). */
  private out = "";
  private runStart = -1;
  private runEnd = -1;
  /** Keys of the object open at each depth (reused: objects at one depth never overlap). */
  private readonly keysAt: string[][] = [];
  private readonly keySetAt: (Set<string> | undefined)[] = [];

  reset(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): void {
    this.text = text;
    this.maxDepth = maxDepth;
    this.pos = 0;
  }

  /** The next character code (NaN past the end). */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  skipWs(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  /** Throws when `condition` is false. */
  expect(condition: boolean): void {
    if (!condition) throw REFUSED;
  }

  /**
   * Scan one value at `pos` whose nesting starts at `depth` (0 for a document's value, 1 for a
   * member of a top-level object) and return its canonical text.
   */
  canonicalValue(depth: number): string {
    const start = this.pos;
    try {
      this.plainValue(depth);
      return this.text.slice(start, this.pos);
    } catch (err) {
      if (err !== NOT_PLAIN) throw err;
    }
    // Not canonical as it stands (or not valid): scan again, rewriting what is not canonical.
    this.pos = start;
    this.out = "";
    this.runStart = this.runEnd = -1;
    this.value(depth);
    if (this.out === "") return this.text.slice(this.runStart, this.runEnd);
    this.put("");
    return this.out;
  }

  // ---- the plain path: valid text that is canonical as it stands, checked without copying.
  // Anything else (whitespace, an escape, a float to reformat, also any error) throws NOT_PLAIN,
  // and the rewriting path below scans the value again and decides. So the plain path may only
  // ever accept text that is both valid and canonical.

  private readonly keyStartAt: number[][] = [];
  private readonly keyEndAt: number[][] = [];

  private plainValue(depth: number): void {
    const t = this.text;
    const p = this.pos;
    const c = t.charCodeAt(p);
    if (c === 0x22) {
      const end = plainStringEnd(t, p);
      if (end < 0) throw NOT_PLAIN;
      this.pos = end + 1;
    } else if (c === 0x7b) this.plainObject(depth + 1);
    else if (c === 0x5b) this.plainArray(depth + 1);
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.plainNumber();
    else if (c === 0x74) this.plainWord("true");
    else if (c === 0x66) this.plainWord("false");
    else if (c === 0x6e) this.plainWord("null");
    else if (c === 0x4e) this.plainWord("NaN");
    else if (c === 0x49) this.plainWord("Infinity");
    else throw NOT_PLAIN;
  }

  private plainWord(w: string): void {
    if (!this.text.startsWith(w, this.pos)) throw NOT_PLAIN;
    this.pos += w.length;
  }

  private plainNumber(): void {
    const end = plainNumberEnd(this.text, this.pos);
    if (end < 0) throw NOT_PLAIN;
    this.pos = end;
  }

  private plainObject(depth: number): void {
    if (depth > this.maxDepth) throw NOT_PLAIN;
    const t = this.text;
    let p = this.pos + 1;
    if (t.charCodeAt(p) === 0x7d) {
      this.pos = p + 1;
      return;
    }
    let starts = this.keyStartAt[depth];
    let ends = this.keyEndAt[depth];
    if (starts === undefined || ends === undefined) {
      starts = this.keyStartAt[depth] = [];
      ends = this.keyEndAt[depth] = [];
    }
    let n = 0;
    for (;;) {
      if (t.charCodeAt(p) !== 0x22) throw NOT_PLAIN;
      const end = plainStringEnd(t, p);
      if (end < 0) throw NOT_PLAIN;
      // Duplicate keys: compare with the keys before (plain keys are their own text).
      const len = end - p;
      for (let i = 0; i < n; i++) {
        if (ends[i]! - starts[i]! === len && sameText(t, starts[i]!, p, len)) throw NOT_PLAIN;
      }
      if (n === PLAIN_KEYS) throw NOT_PLAIN;
      starts[n] = p;
      ends[n] = end;
      n++;
      if (t.charCodeAt(end + 1) !== 0x3a || t.charCodeAt(end + 2) !== 0x20) throw NOT_PLAIN;
      this.pos = end + 3;
      this.plainValue(depth);
      p = this.pos;
      const c = t.charCodeAt(p);
      if (c === 0x2c) {
        if (t.charCodeAt(p + 1) !== 0x20) throw NOT_PLAIN;
        p += 2;
        continue;
      }
      if (c === 0x7d) {
        this.pos = p + 1;
        return;
      }
      throw NOT_PLAIN;
    }
  }

  private plainArray(depth: number): void {
    if (depth > this.maxDepth) throw NOT_PLAIN;
    const t = this.text;
    if (t.charCodeAt(this.pos + 1) === 0x5d) {
      this.pos += 2;
      return;
    }
    this.pos++;
    for (let items = 1; ; items++) {
      if (items > MAX_ARRAY_ITEMS) throw NOT_PLAIN;
      this.plainValue(depth);
      const p = this.pos;
      const c = t.charCodeAt(p);
      if (c === 0x2c) {
        if (t.charCodeAt(p + 1) !== 0x20) throw NOT_PLAIN;
        this.pos = p + 2;
        continue;
      }
      if (c === 0x5d) {
        this.pos = p + 1;
        return;
      }
      throw NOT_PLAIN;
    }
  }

  /** Whether the last {@link key} is written exactly as it stands in the input. */
  private keyVerbatim = true;

  /** Scan an object key at `pos` (a string literal); returns the key's value. */
  key(): string {
    const t = this.text;
    const at = this.pos;
    if (t.charCodeAt(at) !== 0x22) throw REFUSED;
    const end = plainStringEnd(t, at);
    if (end > 0) {
      this.pos = end + 1;
      this.keyVerbatim = true;
      return t.slice(at + 1, end);
    }
    const decoded = parseJsonStringAt(t, at);
    this.pos = decoded.end;
    this.keyVerbatim = false;
    return decoded.value;
  }

  /** Add `key` to the keys of the object at `depth`; a duplicate is refused. */
  addKey(depth: number, key: string, first: boolean): void {
    let keys = this.keysAt[depth];
    if (keys === undefined) keys = this.keysAt[depth] = [];
    if (first) {
      keys.length = 0;
      this.keySetAt[depth] = undefined;
    }
    if (keys.length < LINEAR_KEYS) {
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) throw REFUSED;
      keys.push(key);
      return;
    }
    let set = this.keySetAt[depth];
    if (set === undefined) set = this.keySetAt[depth] = new Set(keys);
    if (set.has(key) || set.size >= MAX_OBJECT_KEYS) throw REFUSED;
    set.add(key);
  }

  private keep(from: number, to: number): void {
    if (from === this.runEnd) {
      this.runEnd = to;
      return;
    }
    if (this.runEnd > this.runStart) this.out += this.text.slice(this.runStart, this.runEnd);
    this.runStart = from;
    this.runEnd = to;
  }

  private put(s: string): void {
    if (this.runEnd > this.runStart) this.out += this.text.slice(this.runStart, this.runEnd);
    this.out += s;
    this.runStart = this.runEnd = -1;
  }

  /** The separator at `pos` (`,` or `:`), written canonically as "<sep> ". */
  private separator(canonical: string): void {
    const p = this.pos;
    if (this.text.charCodeAt(p + 1) === 0x20) this.keep(p, p + 2);
    else this.put(canonical);
    this.pos = p + 1;
    this.skipWs();
  }

  private value(depth: number): void {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b) this.object(depth + 1);
    else if (c === 0x5b) this.array(depth + 1);
    else if (c === 0x22) this.string();
    else if (c === 0x74) this.word("true");
    else if (c === 0x66) this.word("false");
    else if (c === 0x6e) this.word("null");
    else if (c === 0x4e) this.word("NaN");
    else if (c === 0x49) this.word("Infinity");
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
    else throw REFUSED;
  }

  private word(w: string): void {
    if (!this.text.startsWith(w, this.pos)) throw REFUSED;
    this.keep(this.pos, this.pos + w.length);
    this.pos += w.length;
  }

  private object(depth: number): void {
    if (depth > this.maxDepth) throw REFUSED;
    const t = this.text;
    this.keep(this.pos, this.pos + 1);
    this.pos++;
    this.skipWs();
    if (t.charCodeAt(this.pos) === 0x7d) {
      this.keep(this.pos, this.pos + 1);
      this.pos++;
      return;
    }
    for (let first = true; ; first = false) {
      this.skipWs();
      const at = this.pos;
      const k = this.key();
      if (this.keyVerbatim) this.keep(at, this.pos);
      else this.put(quoteJson(k));
      this.addKey(depth, k, first);
      this.skipWs();
      if (t.charCodeAt(this.pos) !== 0x3a) throw REFUSED;
      this.separator(": ");
      this.value(depth);
      if (!this.another(0x7d)) return;
    }
  }

  private array(depth: number): void {
    if (depth > this.maxDepth) throw REFUSED;
    const t = this.text;
    this.keep(this.pos, this.pos + 1);
    this.pos++;
    this.skipWs();
    if (t.charCodeAt(this.pos) === 0x5d) {
      this.keep(this.pos, this.pos + 1);
      this.pos++;
      return;
    }
    for (let items = 1; ; items++) {
      if (items > MAX_ARRAY_ITEMS) throw REFUSED;
      this.skipWs();
      this.value(depth);
      if (!this.another(0x5d)) return;
    }
  }

  /** After an item: a comma means another follows (true); `close` ends the container (false). */
  private another(close: number): boolean {
    this.skipWs();
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x2c) {
      this.separator(", ");
      return true;
    }
    if (c === close) {
      this.keep(this.pos, this.pos + 1);
      this.pos++;
      return false;
    }
    throw REFUSED;
  }

  private string(): void {
    const t = this.text;
    const at = this.pos;
    const end = plainStringEnd(t, at);
    if (end > 0) {
      this.keep(at, end + 1);
      this.pos = end + 1;
      return;
    }
    // An escape, a surrogate or a control character: decode as the parser does, write as stringify.
    const decoded = parseJsonStringAt(t, at);
    this.put(quoteJson(decoded.value));
    this.pos = decoded.end;
  }

  private number(): void {
    const t = this.text;
    const start = this.pos;
    let p = start;
    const negative = t.charCodeAt(p) === 0x2d;
    if (negative) {
      p++;
      if (t.startsWith("Infinity", p)) {
        this.keep(start, p + 8);
        this.pos = p + 8;
        return;
      }
    }
    const digitsFrom = p;
    while (isDigit(t.charCodeAt(p))) p++;
    if (p === digitsFrom) throw REFUSED;
    if (t.charCodeAt(digitsFrom) === 0x30 && p - digitsFrom > 1) throw REFUSED;
    let isFloat = false;
    if (t.charCodeAt(p) === 0x2e) {
      isFloat = true;
      p++;
      const f = p;
      while (isDigit(t.charCodeAt(p))) p++;
      if (p === f) throw REFUSED;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      isFloat = true;
      p++;
      const sign = t.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      const from = p;
      while (isDigit(t.charCodeAt(p))) p++;
      if (p === from) throw REFUSED;
    }
    this.pos = p;
    if (!isFloat) {
      // Integers are written back exactly; only "-0" becomes "0".
      if (negative && p - digitsFrom === 1 && t.charCodeAt(digitsFrom) === 0x30) this.put("0");
      else this.keep(start, p);
      return;
    }
    if (e !== 0x65 && e !== 0x45 && fixedIsShortest(t, digitsFrom, p)) {
      this.keep(start, p);
      return;
    }
    const literal = t.slice(start, p);
    const canonical = formatFloat(Number(literal));
    if (canonical === literal) this.keep(start, p);
    else this.put(canonical);
  }
}

/**
 * Whether the fixed-notation float `t[from, to)` (digits "." digits, no sign, no exponent) is
 * already what formatFloat writes, decided without converting it. True for "<int>.0" with at most
 * 15 integer digits, and for a fraction without trailing zero when the literal has at most 15
 * significant digits and is at least 1e-6: a decimal of at most 15 significant digits is the only
 * one of that length that rounds to its double (DBL_DIG), so the shortest round-trip digits that
 * JavaScript prints are its own, in fixed notation from 1e-6 up to 1e21. Anything else is
 * converted and compared.
 */
function fixedIsShortest(t: string, from: number, to: number): boolean {
  const dot = t.indexOf(".", from);
  const intDigits = dot - from;
  const fracDigits = to - dot - 1;
  if (intDigits > 15) return false;
  if (fracDigits === 1 && t.charCodeAt(dot + 1) === 0x30) return true; // "<int>.0"
  if (t.charCodeAt(to - 1) === 0x30) return false; // a trailing zero
  if (intDigits === 1 && t.charCodeAt(from) === 0x30) {
    // "0.000…": significant digits start after the fraction's leading zeros; below 1e-6 JS writes an exponent.
    let z = dot + 1;
    while (t.charCodeAt(z) === 0x30) z++;
    return z - dot - 1 <= 5 && to - z <= 15;
  }
  return intDigits + fracDigits <= 15;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Refuse the text being scanned (callers then ask the parser why). */
export function refuse(): never {
  throw REFUSED;
}

/** True when `err` is the scanner refusing its input (the parser then gives the reason). */
export function isScannerRefusal(err: unknown): boolean {
  return err === REFUSED;
}

const shared = new JsonTextScanner();

/**
 * `stringifyJson(parseJson(text, {maxDepth}))` without building values: the canonical JSON text of
 * a document. Throws the parser's {@link JsonSyntaxError} for text the parser rejects.
 */
export function canonicalJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): string {
  try {
    shared.reset(text, maxDepth);
    shared.skipWs();
    const out = shared.canonicalValue(0);
    shared.skipWs();
    shared.expect(shared.pos === text.length);
    return out;
  } catch (err) {
    if (!isScannerRefusal(err) && !(err instanceof Error && err.name === "JsonSyntaxError")) throw err;
    return stringifyJson(parseJson(text, { maxDepth }));
  }
}
