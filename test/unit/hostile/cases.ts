/**
 * Hostile JSONL lines, one table for the issue's list (#5) as it applies to JSON. Each case says
 * what must happen at the JSONL entry point, per sink set: "accept" (written faithfully) or a
 * pattern the `FILE:LINE:` rejection must match. (The pynwb read-back of the same kinds of
 * input is test/conformance/test_hostile_jsonl.py, with its own, independent table.)
 */

export type Outcome = "accept" | "ignore" | RegExp;

export interface HostileCase {
  name: string;
  /** The line's bytes (without the newline). Built from `event()` unless it is raw. */
  line: string | Buffer;
  annotations: Outcome;
  /** With `--sinks annotations,table` (an event is written by all sinks or none). */
  both: Outcome;
  /** Slow (10 MB): run in its own log. */
  big?: boolean;
}

/** One valid event line with fields replaced by raw JSON text (`undefined` removes the field). */
export function event(fields: Record<string, string | undefined> = {}): string {
  const f: Record<string, string | undefined> = {
    seq: "1",
    timestamp: "1.0",
    component_address: '"C"',
    event_type: '"UPDATED"',
    repr_value: '""',
    structured_value: '{"x": 1}',
    source_session_id: "null",
    ...fields,
  };
  return `{${Object.entries(f)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}: ${v}`)
    .join(", ")}}`;
}

const settings = (json: string) => event({ structured_value: json });
const nested = (n: number, leaf = "1") => '{"a": '.repeat(n) + leaf + "}".repeat(n);
const nestedArray = (n: number, leaf = "1") => "[".repeat(n) + leaf + "]".repeat(n);
const MB10 = 10 * 1024 * 1024;

/** `line` with its `@@` replaced by raw bytes. */
function withBytes(line: string, bytes: number[]): Buffer {
  const [a, b] = line.split("@@");
  return Buffer.concat([Buffer.from(a!), Buffer.from(bytes), Buffer.from(b!)]);
}

const both = (o: Outcome) => ({ annotations: o, both: o });

export const CASES: HostileCase[] = [
  // malformed JSON
  { name: "truncated object", line: '{"seq": 1, "timestamp": ', ...both(/unexpected end of input at character/) },
  { name: "single quotes", line: "{'seq': 1}", ...both(/expected a string key at character 2/) },
  { name: "trailing garbage", line: `${event()} }`, ...both(/unexpected text after the JSON value/) },
  { name: "double comma", line: '{"seq": 1,, "x": 2}', ...both(/expected a string key/) },
  { name: "raw tab in a string", line: settings('{"s": "a\tb"}'), ...both(/control character in string/) },
  { name: "an array, not an object", line: "[1, 2]", ...both(/an event must be a JSON object, got an array/) },
  { name: "null line", line: "null", ...both(/an event must be a JSON object, got null/) },
  { name: "a bare string", line: '"event"', ...both(/an event must be a JSON object, got a string/) },
  { name: "whitespace only", line: " \t ", ...both("ignore") },
  // wrong field types
  { name: "seq as text", line: event({ seq: '"1"' }), ...both(/"seq" must be a non-negative integer below 2\^53, got a string/) },
  { name: "seq as float", line: event({ seq: "1.0" }), ...both(/"seq" must be .*got the number 1/) },
  { name: "seq negative", line: event({ seq: "-1" }), ...both(/"seq" must be .*got the integer -1/) },
  { name: "seq bool", line: event({ seq: "true" }), ...both(/"seq" must be/) },
  { name: "timestamp as text", line: event({ timestamp: '"1.0"' }), ...both(/"timestamp" must be a finite number of seconds, got a string/) },
  { name: "timestamp null", line: event({ timestamp: "null" }), ...both(/"timestamp" must be .*got null/) },
  { name: "timestamp array", line: event({ timestamp: "[1]" }), ...both(/"timestamp" must be .*got an array/) },
  { name: "component_address number", line: event({ component_address: "5" }), ...both(/"component_address" must be a string, got the integer 5/) },
  { name: "component_address object", line: event({ component_address: '{"a": 1}' }), ...both(/"component_address" must be a string, got an object/) },
  { name: "event_type number", line: event({ event_type: "1" }), ...both(/"event_type" must be "INITIAL" or "UPDATED"/) },
  { name: "repr_value number", line: event({ repr_value: "5" }), ...both(/"repr_value" must be a string or an object/) },
  { name: "repr_value array", line: event({ repr_value: "[1]" }), ...both(/"repr_value" must be a string or an object, got an array/) },
  { name: "source_session_id number", line: event({ source_session_id: "5" }), ...both(/"source_session_id" must be a string or null/) },
  { name: "table_name number", line: event({ table_name: "5" }), ...both(/"table_name" must be a string/) },
  // missing fields
  { name: "missing seq", line: event({ seq: undefined }), ...both(/"seq" must be .*got missing/) },
  { name: "missing timestamp", line: event({ timestamp: undefined }), ...both(/"timestamp" must be .*got missing/) },
  { name: "missing component_address", line: event({ component_address: undefined }), ...both(/"component_address" must be a string, got missing/) },
  { name: "missing event_type", line: event({ event_type: undefined }), ...both(/"event_type" must be "INITIAL" or "UPDATED", got missing/) },
  { name: "missing optional fields", line: event({ repr_value: undefined, structured_value: undefined, source_session_id: undefined }), ...both("accept") },
  // unknown event types and fields
  { name: "event_type DELETED", line: event({ event_type: '"DELETED"' }), ...both(/"event_type" must be "INITIAL" or "UPDATED", got "DELETED"/) },
  { name: "event_type lower case", line: event({ event_type: '"initial"' }), ...both(/got "initial"/) },
  { name: "event_type empty", line: event({ event_type: '""' }), ...both(/got ""/) },
  { name: "unknown extra field", line: event({ colour: '"blue"' }), ...both("accept") },
  // NaN / Infinity
  { name: "NaN and infinities in settings", line: settings('{"n": NaN, "p": Infinity, "m": -Infinity, "z": -0.0}'), ...both("accept") },
  { name: "NaN timestamp", line: event({ timestamp: "NaN" }), ...both(/"timestamp" must be a finite number of seconds, got the number NaN/) },
  { name: "Infinity timestamp", line: event({ timestamp: "Infinity" }), ...both(/"timestamp" must be a finite number/) },
  { name: "-Infinity timestamp", line: event({ timestamp: "-Infinity" }), ...both(/"timestamp" must be a finite number/) },
  { name: "timestamp overflowing to infinity", line: event({ timestamp: "1e400" }), ...both(/"timestamp" must be a finite number/) },
  { name: "NaN seq", line: event({ seq: "NaN" }), ...both(/"seq" must be/) },
  // integers past int64
  {
    name: "integers past int64 in settings",
    line: settings(`{"a": 9223372036854775808, "b": -9223372036854775809, "c": 1${"0".repeat(400)}}`),
    ...both("accept"),
  },
  { name: "integer timestamp past 1e308", line: event({ timestamp: `1${"0".repeat(400)}` }), ...both(/"timestamp" must be a finite number/) },
  {
    name: "seq past 2^53",
    line: event({ seq: "9007199254740993" }),
    ...both(/"seq" must be a non-negative integer below 2\^53, got the integer 9007199254740993/),
  },
  { name: "seq past int64", line: event({ seq: "18446744073709551616" }), ...both(/"seq" must be/) },
  // deep nesting
  { name: "1,000-deep objects", line: settings(nested(999)), ...both("accept") },
  { name: "1,000-deep arrays", line: settings(`{"a": ${nestedArray(998)}}`), ...both("accept") },
  { name: "31-deep arrays (typed cell)", line: settings(`{"a": ${nestedArray(31)}}`), ...both("accept") },
  { name: "32-deep arrays (JSON text cell)", line: settings(`{"a": ${nestedArray(32)}}`), ...both("accept") },
  { name: "2,000-deep nesting", line: settings(nested(1999)), ...both(/nesting deeper than 1024 levels/) },
  { name: "100,000-deep nesting", line: settings(nestedArray(100_000)), ...both(/nesting deeper than 1024 levels/) },
  // 10 MB strings
  { name: "10 MB string value", line: settings(`{"s": "${"v".repeat(MB10)}"}`), ...both("accept"), big: true },
  { name: "10 MB repr_value", line: event({ structured_value: "null", repr_value: `"${"r".repeat(MB10)}"` }), ...both("accept"), big: true },
  { name: "10 MB component address", line: event({ component_address: `"${"c".repeat(MB10)}"` }), ...both("accept"), big: true },
  // Unicode: lone surrogates, invalid UTF-8, NUL
  {
    name: "lone surrogate in a value",
    line: settings('{"s": "\\ud800 x \\udfff"}'),
    annotations: "accept",
    both: /lone UTF-16 surrogate \(\\ud800\), which has no UTF-8 form/,
  },
  { name: "lone surrogate in the component address", line: event({ component_address: '"A\\udc00"' }), annotations: "accept", both: /lone UTF-16 surrogate/ },
  { name: "lone surrogate in a key", line: settings('{"k\\ud800": 1}'), annotations: "accept", both: /setting "k\\ud800" .*lone UTF-16 surrogate/ },
  { name: "surrogate pair", line: settings('{"s": "\\ud83c\\udf89"}'), ...both("accept") },
  { name: "invalid UTF-8 byte", line: withBytes(settings('{"s": "@@"}'), [0xff]), ...both(/not valid UTF-8 \(byte 0xff at byte \d+ of the line\)/) },
  { name: "truncated UTF-8 sequence", line: withBytes(settings('{"s": "@@"}'), [0xe2, 0x82]), ...both(/not valid UTF-8 \(byte 0xe2/) },
  { name: "CESU-8 surrogate bytes", line: withBytes(settings('{"s": "@@"}'), [0xed, 0xa0, 0x80]), ...both(/not valid UTF-8 \(byte 0xed/) },
  { name: "overlong UTF-8", line: withBytes(settings('{"s": "@@"}'), [0xc0, 0xaf]), ...both(/not valid UTF-8 \(byte 0xc0/) },
  { name: "NUL in a value", line: settings('{"s": "a\\u0000b"}'), annotations: "accept", both: /contains a NUL character/ },
  { name: "NUL in the component address", line: event({ component_address: '"A\\u0000B"' }), annotations: "accept", both: /NUL/ },
  { name: "NUL in table_name", line: event({ table_name: '"t\\u0000"' }), ...both(/table_name .* cannot name an NWB AnnotationSeries: it contains a NUL/) },
  // names with '/', '.', spaces or nothing
  { name: "component address with / . and spaces", line: event({ component_address: '"SYS/a.b c/"' }), ...both("accept") },
  { name: "empty component address", line: event({ component_address: '""' }), ...both("accept") },
  { name: "keys with / . spaces and empty", line: settings('{"a/b": 1, "a.b": 2, "a b": 3, "": 4, ".": 5, " ": 6}'), ...both("accept") },
  { name: "empty component and key", line: event({ component_address: '""', structured_value: '{"": 1}' }), ...both("accept") },
  { name: "keys colliding across components", line: event({ component_address: '"a/b"', structured_value: '{"c": 1}' }), ...both("accept") },
  { name: "keys colliding across components (2)", line: event({ component_address: '"a"', structured_value: '{"b/c": 2, "b.c": 3}' }), ...both("accept") },
  { name: "__proto__ and constructor keys", line: settings('{"__proto__": {"polluted": 1}, "constructor": 2}'), ...both("accept") },
  { name: "table_name with /", line: event({ table_name: '"a/b"' }), ...both(/table_name "a\/b" cannot name an NWB AnnotationSeries: it contains '\/'/) },
  { name: "table_name empty", line: event({ table_name: '""' }), ...both(/cannot name an NWB AnnotationSeries: it is empty/) },
  { name: "table_name ..", line: event({ table_name: '".."' }), ...both(/cannot name an NWB AnnotationSeries/) },
  { name: "table_name with a space", line: event({ table_name: '"my table"' }), ...both("accept") },
  // settings that are not objects
  { name: "settings: a number", line: settings("5"), ...both("accept") },
  { name: "settings: a string", line: settings('"text"'), ...both("accept") },
  { name: "settings: a list", line: settings('[1, "a", null]'), ...both("accept") },
  { name: "settings: a bool", line: settings("true"), ...both("accept") },
  { name: "settings: null with a repr object", line: event({ structured_value: "null", repr_value: '{"r": 1}' }), ...both("accept") },
  { name: "settings: empty object", line: settings("{}"), ...both("accept") },
];

/** A canary: a plain valid event, written between hostile lines; every one must reach the file. */
export function canary(i: number): string {
  return event({ component_address: `"canary"`, structured_value: `{"i": ${i}}` });
}
