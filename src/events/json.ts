/**
 * A JSON value model that keeps what settings need and `JSON.parse` loses:
 * - integers and floats stay distinct: an integer literal becomes a `bigint` (exact past 2^53),
 *   a literal with a fraction or exponent (`1.0`, `1e3`) becomes a `number`;
 * - Python's `json.dumps` tokens `NaN`, `Infinity` and `-Infinity` are accepted as floats;
 * - strings may hold lone UTF-16 surrogates (`"\ud800"`, which Python's `json.dumps` writes);
 *   `stringifyJson` writes them back as escapes, and the HDF5 layer rejects them (no UTF-8 form);
 * - objects are `Map`s, so key order is the writer's order (a plain object would move
 *   integer-like keys to the front) and keys like `__proto__` are plain data.
 *
 * We parse by hand because no well-kept library accepts Python's NaN/Infinity tokens
 * (lossless-json rejects them) and we want depth limits and exact error positions.
 */

export type JsonObject = Map<string, JsonValue>;
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;

export interface JsonParseOptions {
  /** Deepest nesting of arrays/objects accepted; deeper input is rejected with an error. */
  maxDepth?: number;
}

export const DEFAULT_MAX_JSON_DEPTH = 1024;

export class JsonSyntaxError extends Error {
  constructor(
    readonly problem: string,
    readonly position: number,
  ) {
    super(`${problem} at character ${position + 1}`);
    this.name = "JsonSyntaxError";
  }
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}

/** The first `"`, `\` or control character at or after `lastIndex` (for the string fast path). */
/**
 * Limits checked while parsing, before the memory is taken: a line within the line-length limit
 * can still describe tens of millions of values.
 */
export const MAX_ARRAY_ITEMS = 1_000_000;
export const MAX_OBJECT_KEYS = 100_000;

const STRING_SPECIAL = /["\\\u0000-\u001f]/g;

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  /** One string literal at `at` (the opening quote); returns its value and the index after it. */
  stringAt(at: number): { value: string; end: number } {
    this.pos = at;
    const value = this.parseString();
    return { value, end: this.pos };
  }

  parseDocument(): JsonValue {
    this.skipWs();
    const value = this.parseValue(0);
    this.skipWs();
    if (this.pos < this.text.length) this.fail("unexpected text after the JSON value");
    return value;
  }

  private fail(problem: string, at = this.pos): never {
    throw new JsonSyntaxError(problem, at);
  }

  private skipWs(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos); // NaN past the end
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private parseValue(depth: number): JsonValue {
    const t = this.text;
    if (this.pos >= t.length) this.fail("unexpected end of input");
    const c = t.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth + 1);
      case 0x5b: // [
        return this.parseArray(depth + 1);
      case 0x22: // "
        return this.parseString();
      case 0x74: // t
        return this.literal("true", true);
      case 0x66: // f
        return this.literal("false", false);
      case 0x6e: // n
        return this.literal("null", null);
      case 0x4e: // N
        return this.literal("NaN", Number.NaN);
      case 0x49: // I
        return this.literal("Infinity", Number.POSITIVE_INFINITY);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail(`unexpected character ${JSON.stringify(t[this.pos])}`);
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`invalid literal (expected ${word})`);
    this.pos += word.length;
    return value;
  }

  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
  }

  private parseObject(depth: number): JsonObject {
    this.checkDepth(depth);
    const out: JsonObject = new Map();
    this.pos++; // {
    this.skipWs();
    const t = this.text;
    if (t.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (t.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
      const keyAt = this.pos;
      const key = this.parseString();
      // Python's json.dumps never writes one; silently keeping the last would lose a value.
      if (out.has(key)) this.fail(`duplicate key ${JSON.stringify(key)} in object`, keyAt);
      this.skipWs();
      if (t.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':' after key");
      this.pos++;
      this.skipWs();
      if (out.size >= MAX_OBJECT_KEYS) this.fail(`more than ${MAX_OBJECT_KEYS} keys in one object (the limit)`, keyAt);
      out.set(key, this.parseValue(depth));
      this.skipWs();
      const c = t.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return out;
      }
      this.fail(this.pos >= t.length ? "unexpected end of input in object" : "expected ',' or '}' in object");
    }
  }

  private parseArray(depth: number): JsonValue[] {
    this.checkDepth(depth);
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipWs();
    const t = this.text;
    if (t.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (out.length >= MAX_ARRAY_ITEMS) this.fail(`more than ${MAX_ARRAY_ITEMS} items in one array (the limit)`);
      out.push(this.parseValue(depth));
      this.skipWs();
      const c = t.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      this.fail(this.pos >= t.length ? "unexpected end of input in array" : "expected ',' or ']' in array");
    }
  }

  private parseNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    const negative = t.charCodeAt(this.pos) === 0x2d;
    if (negative) {
      this.pos++;
      if (t.startsWith("Infinity", this.pos)) {
        this.pos += "Infinity".length;
        return Number.NEGATIVE_INFINITY;
      }
    }
    const digitsFrom = this.pos;
    // Integer digits, also accumulated: up to 15 digits the value is exact in a double.
    let value = 0;
    for (let c = t.charCodeAt(this.pos); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++this.pos)) value = value * 10 + (c - 0x30);
    if (this.pos === digitsFrom) this.fail("invalid number", start);
    if (t.charCodeAt(digitsFrom) === 0x30 && this.pos - digitsFrom > 1) this.fail("invalid number (leading zero)", start);
    let isFloat = false;
    if (t.charCodeAt(this.pos) === 0x2e) {
      isFloat = true;
      this.pos++;
      const f = this.pos;
      while (isDigit(t.charCodeAt(this.pos))) this.pos++;
      if (this.pos === f) this.fail("invalid number (no digits after '.')", start);
    }
    const e = t.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      isFloat = true;
      this.pos++;
      const sign = t.charCodeAt(this.pos);
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      const from = this.pos;
      while (isDigit(t.charCodeAt(this.pos))) this.pos++;
      if (this.pos === from) this.fail("invalid number (no digits in exponent)", start);
    }
    if (isFloat) return Number(t.slice(start, this.pos));
    if (this.pos - digitsFrom <= 15) return BigInt(negative ? -value : value);
    return BigInt(t.slice(start, this.pos));
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    // Fast path: no escape and no control character before the closing quote.
    STRING_SPECIAL.lastIndex = start + 1;
    if (STRING_SPECIAL.test(t)) {
      const end = STRING_SPECIAL.lastIndex - 1;
      if (t.charCodeAt(end) === 0x22) {
        this.pos = end + 1;
        return t.slice(start + 1, end);
      }
    }
    this.pos++; // opening quote
    let out = "";
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail("unterminated string", start);
      const code = t.charCodeAt(this.pos);
      if (code === 0x22) {
        out += t.slice(chunkStart, this.pos);
        this.pos++;
        break;
      }
      if (code < 0x20) this.fail("control character in string");
      if (code === 0x5c) {
        out += t.slice(chunkStart, this.pos);
        out += this.parseEscape();
        chunkStart = this.pos;
        continue;
      }
      this.pos++;
    }
    return out;
  }

  private parseEscape(): string {
    const t = this.text;
    const c = t[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "/":
        return "/";
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const hex = t.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape", this.pos - 2);
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        return this.fail("invalid escape in string", this.pos - 2);
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Parse JSON text into the lossless value model. Throws {@link JsonSyntaxError}. */
export function parseJson(text: string, options: JsonParseOptions = {}): JsonValue {
  return new Parser(text, options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH).parseDocument();
}

/**
 * Decode the JSON string literal whose opening quote is at `at` (escapes, lone surrogates and
 * errors exactly as {@link parseJson}); returns the value and the index after the closing quote.
 */
export function parseJsonStringAt(text: string, at: number): { value: string; end: number } {
  return new Parser(text, DEFAULT_MAX_JSON_DEPTH).stringAt(at);
}

/** Format a float the way Python's `repr` keeps it a float: always with a '.', 'e', or a name. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (Object.is(n, -0)) return "-0.0";
  const s = String(n);
  // Only integral values below 1e21 print without '.' or 'e' (1e21 prints as "1e+21").
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? `${s}.0` : s;
}

/**
 * Serialize to JSON text with Python `json.dumps` separators (", " and ": "), floats that stay
 * floats, exact big integers and NaN/Infinity as Python writes them. Non-ASCII is written as UTF-8.
 */
export function stringifyJson(value: JsonValue): string {
  return write(value);
}

/**
 * What `JSON.stringify` escapes in a string: `"`, `\\`, control characters, and lone surrogates
 * (a surrogate of any kind sends the string to JSON.stringify, which decides).
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(s)`, without its generic machinery for the common string that needs no escape. */
export function quoteJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

// Built by concatenation (V8 keeps ropes; cheaper than collecting parts and joining).
function write(v: JsonValue): string {
  switch (typeof v) {
    case "string":
      return quoteJson(v);
    case "number":
      return formatFloat(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (v === null) return "null";
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ", ";
      s += write(v[i]!);
    }
    return `${s}]`;
  }
  let s = "{";
  let first = true;
  for (const [k, item] of v) {
    if (!first) s += ", ";
    first = false;
    s += `${quoteJson(k)}: ${write(item)}`;
  }
  return `${s}}`;
}

/** Build a JsonObject from a plain object literal (tests and producers written in TS). */
export function jsonObject(entries: Record<string, JsonValue>): JsonObject {
  return new Map(Object.entries(entries));
}

/** A JSON value described for an error message: "missing", "null", "an array", "the integer 3", … */
export function describeJsonValue(v: JsonValue | undefined): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (isJsonObject(v)) return "an object";
  if (typeof v === "bigint") return `the integer ${v}`;
  if (typeof v === "number") return `the number ${formatFloat(v)}`;
  if (typeof v === "string") return "a string";
  return `the boolean ${String(v)}`;
}
