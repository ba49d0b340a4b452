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

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

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
    while (this.pos < t.length && WS.has(t.charCodeAt(this.pos))) this.pos++;
  }

  private parseValue(depth: number): JsonValue {
    const t = this.text;
    if (this.pos >= t.length) this.fail("unexpected end of input");
    const c = t[this.pos];
    switch (c) {
      case "{":
        return this.parseObject(depth + 1);
      case "[":
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      case "N":
        return this.literal("NaN", Number.NaN);
      case "I":
        return this.literal("Infinity", Number.POSITIVE_INFINITY);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.parseNumber();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
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
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail("expected a string key");
      const key = this.parseString();
      this.skipWs();
      if (this.text[this.pos] !== ":") this.fail("expected ':' after key");
      this.pos++;
      this.skipWs();
      out.set(key, this.parseValue(depth));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "}") {
        this.pos++;
        return out;
      }
      this.fail(c === undefined ? "unexpected end of input in object" : "expected ',' or '}' in object");
    }
  }

  private parseArray(depth: number): JsonValue[] {
    this.checkDepth(depth);
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipWs();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.parseValue(depth));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ",") {
        this.pos++;
        continue;
      }
      if (c === "]") {
        this.pos++;
        return out;
      }
      this.fail(c === undefined ? "unexpected end of input in array" : "expected ',' or ']' in array");
    }
  }

  private parseNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    if (t[this.pos] === "-") {
      this.pos++;
      if (t.startsWith("Infinity", this.pos)) {
        this.pos += "Infinity".length;
        return Number.NEGATIVE_INFINITY;
      }
    }
    const digitsFrom = this.pos;
    while (this.pos < t.length && t[this.pos]! >= "0" && t[this.pos]! <= "9") this.pos++;
    if (this.pos === digitsFrom) this.fail("invalid number", start);
    if (t[digitsFrom] === "0" && this.pos - digitsFrom > 1) this.fail("invalid number (leading zero)", start);
    let isFloat = false;
    if (t[this.pos] === ".") {
      isFloat = true;
      this.pos++;
      const f = this.pos;
      while (this.pos < t.length && t[this.pos]! >= "0" && t[this.pos]! <= "9") this.pos++;
      if (this.pos === f) this.fail("invalid number (no digits after '.')", start);
    }
    if (t[this.pos] === "e" || t[this.pos] === "E") {
      isFloat = true;
      this.pos++;
      if (t[this.pos] === "+" || t[this.pos] === "-") this.pos++;
      const e = this.pos;
      while (this.pos < t.length && t[this.pos]! >= "0" && t[this.pos]! <= "9") this.pos++;
      if (this.pos === e) this.fail("invalid number (no digits in exponent)", start);
    }
    const literal = t.slice(start, this.pos);
    return isFloat ? Number(literal) : BigInt(literal);
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
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

/** Parse JSON text into the lossless value model. Throws {@link JsonSyntaxError}. */
export function parseJson(text: string, options: JsonParseOptions = {}): JsonValue {
  return new Parser(text, options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH).parseDocument();
}

/** Format a float the way Python's `repr` keeps it a float: always with a '.', 'e', or a name. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (Object.is(n, -0)) return "-0.0";
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * Serialize to JSON text with Python `json.dumps` separators (", " and ": "), floats that stay
 * floats, exact big integers and NaN/Infinity as Python writes them. Non-ASCII is written as UTF-8.
 */
export function stringifyJson(value: JsonValue): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join("");
}

function write(v: JsonValue, out: string[]): void {
  if (v === null) out.push("null");
  else if (typeof v === "boolean") out.push(v ? "true" : "false");
  else if (typeof v === "bigint") out.push(v.toString());
  else if (typeof v === "number") out.push(formatFloat(v));
  else if (typeof v === "string") out.push(JSON.stringify(v));
  else if (Array.isArray(v)) {
    out.push("[");
    v.forEach((item, i) => {
      if (i > 0) out.push(", ");
      write(item, out);
    });
    out.push("]");
  } else {
    out.push("{");
    let first = true;
    for (const [k, item] of v) {
      if (!first) out.push(", ");
      first = false;
      out.push(JSON.stringify(k), ": ");
      write(item, out);
    }
    out.push("}");
  }
}

/** Build a JsonObject from a plain object literal (tests and producers written in TS). */
export function jsonObject(entries: Record<string, JsonValue>): JsonObject {
  return new Map(Object.entries(entries));
}
