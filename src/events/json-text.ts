/**
 * JSON text that is checked but not turned into values. {@link canonicalJson} accepts exactly the
 * texts {@link parseJson} accepts (same grammar, Python's NaN/Infinity tokens, lone surrogates,
 * depth limit, duplicate keys) and returns what `stringifyJson(parseJson(text))` would return,
 * without building a single Map, array or bigint: the canonical text is cut from the input, and
 * only the pieces that are not already canonical are rewritten:
 * - whitespace other than Python's ", " and ": " separators;
 * - a float literal whose shortest form differs (`1.50`, `1e-05`, `1E3`), and `-0` (an integer);
 * - a string with an escape or a surrogate (`"\u00e9"` becomes `"é"`, as stringifyJson writes it).
 * Python's `json.dumps` output is canonical except for `ensure_ascii` escapes and exponent floats,
 * so the common line is one slice of the input.
 *
 * Anything the scanner does not accept is handed to the real parser, which throws its own exact
 * error (and would also give the right answer, should the scanner ever refuse good input).
 */
import { DEFAULT_MAX_JSON_DEPTH, formatFloat, parseJson, parseJsonStringAt, quoteJson, stringifyJson } from "./json.js";

/** Thrown inside the scanner for any text it does not accept (the parser then says why). */
const REFUSED = new Error("refused by the JSON text scanner");

/** The first `"`, `\`, control character or UTF-16 surrogate at or after `lastIndex`. */
const STRING_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/g;

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
    this.out = "";
    this.runStart = this.runEnd = -1;
    this.value(depth);
    if (this.out === "") return this.text.slice(this.runStart, this.runEnd);
    this.put("");
    return this.out;
  }

  /** Whether the last {@link key} is written exactly as it stands in the input. */
  private keyVerbatim = true;

  /** Scan an object key at `pos` (a string literal); returns the key's value. */
  key(): string {
    const t = this.text;
    const at = this.pos;
    if (t.charCodeAt(at) !== 0x22) throw REFUSED;
    STRING_SPECIAL.lastIndex = at + 1;
    if (STRING_SPECIAL.test(t)) {
      const end = STRING_SPECIAL.lastIndex - 1;
      if (t.charCodeAt(end) === 0x22) {
        this.pos = end + 1;
        this.keyVerbatim = true;
        return t.slice(at + 1, end);
      }
    }
    const { value, end } = parseJsonStringAt(t, at);
    this.pos = end;
    this.keyVerbatim = false;
    return value;
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
    if (set.has(key)) throw REFUSED;
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
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.word("true");
      case 0x66: // f
        return this.word("false");
      case 0x6e: // n
        return this.word("null");
      case 0x4e: // N
        return this.word("NaN");
      case 0x49: // I
        return this.word("Infinity");
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw REFUSED;
    }
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
      this.skipWs();
      const c = t.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.separator(", ");
        continue;
      }
      if (c === 0x7d) {
        this.keep(this.pos, this.pos + 1);
        this.pos++;
        return;
      }
      throw REFUSED;
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
    for (;;) {
      this.skipWs();
      this.value(depth);
      this.skipWs();
      const c = t.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.separator(", ");
        continue;
      }
      if (c === 0x5d) {
        this.keep(this.pos, this.pos + 1);
        this.pos++;
        return;
      }
      throw REFUSED;
    }
  }

  private string(): void {
    const t = this.text;
    const at = this.pos;
    STRING_SPECIAL.lastIndex = at + 1;
    if (STRING_SPECIAL.test(t)) {
      const end = STRING_SPECIAL.lastIndex - 1;
      if (t.charCodeAt(end) === 0x22) {
        this.keep(at, end + 1);
        this.pos = end + 1;
        return;
      }
    }
    // An escape, a surrogate or a control character: decode as the parser does, write as stringify.
    const { value, end } = parseJsonStringAt(t, at);
    this.put(quoteJson(value));
    this.pos = end;
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
    const literal = t.slice(start, p);
    const canonical = formatFloat(Number(literal));
    if (canonical === literal) this.keep(start, p);
    else this.put(canonical);
  }
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
