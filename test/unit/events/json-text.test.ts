/**
 * The text scanner (src/events/json-text.ts, event-text.ts) against the lossless parser: for any
 * text, canonicalJson must return exactly stringifyJson(parseJson(text)) or throw the same error,
 * and scanEvent must accept exactly what parseEvent accepts, with the same fields, the same
 * payload text as stringify of the parsed payload, and the same error message otherwise.
 * Differential fuzz with fast-check: generated JSON written in many spellings (whitespace,
 * escapes, float forms, NaN, duplicates, deep nesting, lone surrogates), then randomly damaged.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { annotationRowText, settingsPayload, tableRowPayload } from "../../../src/events/event.js";
import { parseEvent } from "../../../src/events/event-codec.js";
import { TextPayloadEvent, scanEvent, scanPlainEvent } from "../../../src/events/event-text.js";
import { MAX_ARRAY_ITEMS, MAX_OBJECT_KEYS, parseJson, stringifyJson } from "../../../src/events/json.js";
import { canonicalJson } from "../../../src/events/json-text.js";

/** Cases per property (raise with NWB_FUZZ_RUNS for a long run). */
const RUNS = Number(process.env.NWB_FUZZ_RUNS ?? 10000);
const TIMEOUT_MS = Math.max(30000, RUNS * 10);

type Outcome = { ok: true; value: string } | { ok: false; error: string };

function outcome(f: () => string): Outcome {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    return { ok: false, error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

function eventOutcome(f: () => ReturnType<typeof parseEvent>): Outcome {
  return outcome(() => {
    const e = f();
    const fields = [e.seq, e.timestamp, e.component_address, e.event_type, e.source_session_id, e.table_name];
    return `${stringifyJson(fields.map((x) => (typeof x === "number" ? (Number.isInteger(x) ? BigInt(x) : x) : x)))} ${annotationRowText(e)} ${annotationRowText(e, 0.5)} ${stringifyJson(e.repr_value)} ${stringifyJson(e.structured_value)}`;
  });
}

/** {@link eventOutcome} as a value or a throw (for comparing with a parser's outcome). */
function eventOutcomeText(f: () => ReturnType<typeof parseEvent>): string {
  const o = eventOutcome(f);
  if (!o.ok) throw new Error(o.error);
  return o.value;
}

// ---- generated JSON text in many spellings

const ws = fc.constantFrom("", "", "", " ", "  ", "\n", "\t", "\r\n ");
const sep = (canonical: string) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(canonical) }, { weight: 1, arbitrary: fc.tuple(ws, ws).map(([a, b]) => `${a}${canonical.trim()}${b}`) });

const stringChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "Z", " ", "é", "日", "😀", "/", "_", ".") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\\"',
      "\\\\",
      "\\/",
      "\\n",
      "\\t",
      "\\b",
      "\\f",
      "\\r",
      "\\u0041",
      "\\u00e9",
      "\\ud800",
      "\\udc00",
      "\\ud83d\\ude00",
      "\\u0000",
      "\\u001f",
      "\\uFFFF",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("\t", "\u0001", "\\x", "\\u12", "\ud800", "\udfff", '"') },
);
const stringLit = fc.array(stringChar, { maxLength: 6 }).map((cs) => `"${cs.join("")}"`);
const numberLit = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.constantFrom("0", "-0", "00", "-", "1.", ".5", "1e", "1e+", "01", "12345678901234567890", "-98765432109876543210", "9007199254740993"),
  fc.constantFrom(
    "1.0",
    "1.50",
    "0.1",
    "-0.0",
    "1e3",
    "1E3",
    "1e-05",
    "1e+16",
    "1e16",
    "2.5e-7",
    "1e400",
    "-1e400",
    "123.456000",
    "0.30000000000000004",
    "5e-324",
    "1.7976931348623157e308",
  ),
  fc.constantFrom(
    "0.000001",
    "0.0000001",
    "0.0000012",
    "0.00001",
    "123456789012345.6",
    "12345678901234.56",
    "1234567890123456.0",
    "123456789012345.0",
    "0.123456789012345",
    "0.1234567890123456",
    "0.10",
    "10.0",
    "100.5",
    "1e21",
    "1.0e21",
    "999999999999999999999.0",
    "1000000000000000000000.0",
  ),
  fc.tuple(fc.integer({ min: -999999, max: 999999 }), fc.integer({ min: 0, max: 999999 }), fc.nat({ max: 9 })).map(([i, f, z]) => `${i}.${"0".repeat(z)}${f}`),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Number.isInteger(d) ? `${d}.0` : String(d))),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "-NaN", "nan", "inf"),
);
const literal = fc.constantFrom("true", "false", "null", "tru", "nul", "True");
const keyLit = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('"a"', '"b"', '"c"', '"__proto__"', '"1"', '"\\u0061"', '"seq"') },
  { weight: 1, arbitrary: stringLit },
);

const { value: jsonText } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    stringLit,
    numberLit,
    literal,
    fc
      .tuple(ws, fc.array(fc.tuple(tie("value"), sep(", ")), { maxLength: 4 }), ws)
      .map(([a, items, b]) => `[${a}${items.map(([v, s], i) => (i < items.length - 1 ? v + s : v)).join("")}${b}]`),
    fc
      .tuple(ws, fc.array(fc.tuple(keyLit, sep(": "), tie("value"), sep(", ")), { maxLength: 5 }), ws)
      .map(([a, members, b]) => `{${a}${members.map(([k, c, v, s], i) => `${k}${c}${v}${i < members.length - 1 ? s : ""}`).join("")}${b}}`),
  ),
}));

/** Damage a text: delete, insert or replace one character (or leave it). */
const damaged = (text: fc.Arbitrary<string>) =>
  fc
    .tuple(
      text,
      fc.nat(),
      fc.constantFrom("keep", "keep", "keep", "delete", "insert", "replace"),
      fc.constantFrom(",", ":", "{", "}", "[", "]", '"', "\\", " ", "x", "1", "\u0000"),
    )
    .map(([t, n, op, c]) => {
      const i = t.length === 0 ? 0 : n % t.length;
      if (op === "delete") return t.slice(0, i) + t.slice(i + 1);
      if (op === "insert") return t.slice(0, i) + c + t.slice(i);
      if (op === "replace") return t.slice(0, i) + c + t.slice(i + 1);
      return t;
    });

const fieldValue = (canonical: fc.Arbitrary<string>) => fc.oneof({ weight: 12, arbitrary: canonical }, { weight: 1, arbitrary: jsonText });
const validString = fc
  .array(fc.constantFrom("a", "Z", " ", "é", "😀", "/", '\\"', "\\u00e9", "\\ud800", "\\n"), { maxLength: 5 })
  .map((cs) => `"${cs.join("")}"`);
/** A settings object in Python's spelling (members may still be bad: keys repeat, numbers are odd). */
const settingsObject = fc
  .array(fc.tuple(keyLit, fc.oneof(numberLit, validString, literal, jsonText)), { maxLength: 4 })
  .map((members) => `{${members.map(([k, v]) => `${k}: ${v}`).join(", ")}}`);
const REQUIRED = ["seq", "timestamp", "component_address", "event_type"];
const eventLine = fc
  .record({
    seq: fieldValue(
      fc.oneof(
        { weight: 8, arbitrary: fc.nat().map(String) },
        { weight: 1, arbitrary: fc.constantFrom("9007199254740991", "9007199254740992", "-0", "-1", "1.0") },
      ),
    ),
    timestamp: fieldValue(fc.oneof(numberLit, fc.constantFrom("1764340000.25", "12", "0.001", "1e-05"))),
    component_address: fieldValue(fc.oneof(validString, stringLit, fc.constantFrom('"SYS/GAIN"', '"__init_final__"'))),
    event_type: fieldValue(fc.constantFrom('"INITIAL"', '"UPDATED"', '"UPDATED"', '"\\u0049NITIAL"', '"updated"')),
    repr_value: fieldValue(fc.oneof(validString, stringLit, jsonText)),
    structured_value: fieldValue(fc.oneof(jsonText, fc.constant("null"))),
    source_session_id: fieldValue(fc.oneof(validString, fc.constant("null"))),
    table_name: fieldValue(fc.oneof(validString, fc.constant("null"))),
    extra: jsonText,
  })
  .chain((fields) =>
    fc
      .tuple(
        fc.shuffledSubarray(Object.keys(fields).filter((k) => !REQUIRED.includes(k))),
        fc.shuffledSubarray(REQUIRED, { minLength: 4 }),
        fc.nat(),
        sep(", "),
        sep(": "),
        fc.nat({ max: 9 }),
      )
      .map(([optional, required, at, s, c, dup]) => {
        const keys = [...required];
        for (const k of optional) keys.splice(at % (keys.length + 1), 0, k);
        if (at % 17 === 0) keys.splice(at % keys.length, 1); // a required field missing
        const members = keys.map((k) => `"${k}"${c}${fields[k as keyof typeof fields]}`);
        if (dup === 0 && members.length > 0) members.push(members[at % members.length]!);
        return `{${members.join(s)}}`;
      }),
  );

/**
 * Lines as Python writers spell them (the dataclass's key order, `json.dumps` separators), with
 * ezmsg's usual structured_value written exactly as repr_value; values still sometimes odd.
 */
const pythonLine = fc
  .record({
    seq: fc.oneof(
      { weight: 8, arbitrary: fc.nat().map(String) },
      { weight: 1, arbitrary: fc.constantFrom("9007199254740991", "9007199254740992", "01", "-1", "1.0") },
    ),
    timestamp: numberLit,
    component_address: fc.oneof(validString, fc.constant('"SYS/GAIN"')),
    event_type: fc.constantFrom('"INITIAL"', '"UPDATED"', '"UPDATED"', '"updated"'),
    repr_value: fc.oneof({ weight: 4, arbitrary: settingsObject }, { weight: 1, arbitrary: validString }),
    structured_value: fc.oneof({ weight: 4, arbitrary: fc.constant("same") }, { weight: 1, arbitrary: fc.oneof(settingsObject, fc.constant("null")) }),
    source_session_id: fc.oneof(validString, fc.constant("null")),
    table_name: fc.oneof(validString, fc.constant("null")),
  })
  .chain((fields) =>
    fc.tuple(fc.subarray(["structured_value", "source_session_id", "table_name"]), fc.boolean()).map(([dropped, shuffle]) => {
      const keys = Object.keys(fields).filter((k) => !dropped.includes(k));
      if (shuffle) keys.reverse();
      const value = (k: string) => (k === "structured_value" && fields.structured_value === "same" ? fields.repr_value : fields[k as keyof typeof fields]);
      return `{${keys.map((k) => `"${k}": ${value(k)}`).join(", ")}}`;
    }),
  );

const eventLines = fc.oneof(
  { weight: 3, arbitrary: eventLine },
  { weight: 1, arbitrary: damaged(eventLine) },
  { weight: 2, arbitrary: pythonLine },
  { weight: 1, arbitrary: damaged(pythonLine) },
);

describe("canonicalJson (text scanner) against parseJson + stringifyJson", () => {
  it(
    "agrees on generated and damaged JSON text",
    () => {
      fc.assert(
        fc.property(damaged(jsonText), (text) => {
          expect(outcome(() => canonicalJson(text))).toEqual(outcome(() => stringifyJson(parseJson(text))));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it("agrees at the depth limit", () => {
    for (const n of [1, 2, 3, 4, 5, 1023, 1024, 1025]) {
      for (const t of [`${'{"a": '.repeat(n)}1${"}".repeat(n)}`, `${"[".repeat(n)}1${"]".repeat(n)}`]) {
        for (const maxDepth of [3, 4, 1024]) {
          expect(outcome(() => canonicalJson(t, maxDepth))).toEqual(outcome(() => stringifyJson(parseJson(t, { maxDepth }))));
        }
      }
    }
  });

  it(
    "refuses what the parser refuses at its array and object limits, in canonical and other spellings",
    () => {
      const array = (n: number, sep: string) => `[${Array.from({ length: n }, () => "0").join(sep)}]`;
      const object = (n: number, sep: string) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${sep.slice(1)}${i}`).join(sep)}}`;
      const refusedAsByParser = (scan: () => string, parse: () => string) => {
        const got = outcome(scan);
        expect(got).toEqual(outcome(parse));
        expect(got.ok ? "" : got.error).toMatch(/\(the limit\)/);
      };
      for (const [make, max] of [
        [array, MAX_ARRAY_ITEMS],
        [object, MAX_OBJECT_KEYS],
      ] as const) {
        // ", " is the plain path's spelling (arrays), "," the rewriting path's.
        for (const sep of [", ", ","]) {
          expect(canonicalJson(make(max, sep))).toBe(make(max, ", "));
          const over = make(max + 1, sep);
          refusedAsByParser(
            () => canonicalJson(over),
            () => stringifyJson(parseJson(over)),
          );
        }
        const nested = `{"a": [${make(max + 1, ", ")}]}`;
        refusedAsByParser(
          () => canonicalJson(nested),
          () => stringifyJson(parseJson(nested)),
        );
        // In an event line, as the settings payload.
        const line = `{"seq": 1, "timestamp": 1.5, "component_address": "A", "event_type": "UPDATED", "repr_value": "", "structured_value": {"v": ${make(max + 1, ", ")}}}`;
        refusedAsByParser(
          () => eventOutcomeText(() => scanEvent(line)),
          () => eventOutcomeText(() => parseEvent(line)),
        );
      }
      // The event object itself with too many keys.
      const wide = `{"seq": 1, "timestamp": 1.5, "component_address": "A", "event_type": "UPDATED", ${Array.from({ length: MAX_OBJECT_KEYS }, (_, i) => `"x${i}": 0`).join(", ")}}`;
      refusedAsByParser(
        () => eventOutcomeText(() => scanEvent(wide)),
        () => eventOutcomeText(() => parseEvent(wide)),
      );
    },
    TIMEOUT_MS,
  );

  it("finds duplicate keys in objects of any size", () => {
    const keys = Array.from({ length: 40 }, (_, i) => `"k${i}": ${i}`);
    expect(() => canonicalJson(`{${keys.join(", ")}, "k33": 1}`)).toThrow('duplicate key "k33"');
    expect(() => canonicalJson(`{${keys.join(", ")}, "k\\u0033": 1, "k3": 2}`)).toThrow('duplicate key "k3"');
    expect(canonicalJson(`{${keys.join(",")}}`)).toBe(`{${keys.join(", ")}}`);
  });

  it("keeps canonical text as it is and rewrites only what is not canonical", () => {
    expect(canonicalJson('{"a": [1, 2.5, "x"], "b": NaN}')).toBe('{"a": [1, 2.5, "x"], "b": NaN}');
    expect(canonicalJson('{"a":[1,2.50,"\\u00e9"],"b":-0,"c":1e-05 }')).toBe('{"a": [1, 2.5, "é"], "b": 0, "c": 0.00001}');
    expect(canonicalJson('"\\ud800"')).toBe('"\\ud800"');
  });
});

describe("scanEvent against parseEvent", () => {
  it("generates both accepted and rejected lines", () => {
    const lines = fc.sample(eventLines, { numRuns: 2000, seed: 15 });
    const accepted = lines.filter((l) => eventOutcome(() => parseEvent(l)).ok).length;
    const texts = fc.sample(damaged(jsonText), { numRuns: 2000, seed: 15 });
    const parsed = texts.filter((t) => outcome(() => stringifyJson(parseJson(t))).ok).length;
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(1800);
    expect(parsed).toBeGreaterThan(200);
    expect(parsed).toBeLessThan(1800);
    // The one-pass path takes a good share of the accepted lines, and also of those whose
    // structured_value is compared with repr_value rather than scanned.
    const plain = lines.filter((l) => scanPlainEvent(l) !== undefined);
    expect(plain.length).toBeGreaterThan(accepted / 10);
    expect(
      plain.filter((l) => {
        const e = scanPlainEvent(l) as TextPayloadEvent;
        return e.payloadText !== "null" && e.payloadText === stringifyJson(e.repr_value) && e.payloadText.startsWith("{");
      }).length,
    ).toBeGreaterThan(20);
  });

  it(
    "agrees on generated and damaged event lines",
    () => {
      fc.assert(
        fc.property(eventLines, (line) => {
          const parsed = eventOutcome(() => parseEvent(line));
          expect(eventOutcome(() => scanEvent(line))).toEqual(parsed);
          // What the one-pass path accepts, it reads exactly as the parser does.
          const plain = scanPlainEvent(line);
          if (plain !== undefined) expect(eventOutcome(() => plain)).toEqual(parsed);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it("keeps the payload as text and parses it once, on demand", () => {
    const e = scanEvent(
      '{"seq": 3, "timestamp": 1.5, "component_address": "A", "event_type": "UPDATED", "repr_value": "r", "structured_value": {"x":1.50, "y": [1,2]}}',
    );
    expect(e).toBeInstanceOf(TextPayloadEvent);
    expect((e as TextPayloadEvent).payloadText).toBe('{"x": 1.5, "y": [1, 2]}');
    const v = settingsPayload(e);
    expect(settingsPayload(e)).toBe(v);
    expect(annotationRowText(e)).toBe(stringifyJson(tableRowPayload(e)));
    e.structured_value = null;
    expect((e as TextPayloadEvent).payloadText).toBe('"r"');
  });
});
