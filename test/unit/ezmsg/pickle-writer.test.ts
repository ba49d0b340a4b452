/**
 * The whitelisted pickle writer: every value is read back by CPython's own `pickle.loads` (the
 * pinned venv, the same interpreter ezmsg runs in) and compared, types included, with a Python
 * literal of what it must be; and by our decoder. What is not whitelisted is refused.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodePickle } from "../../../src/ezmsg/pickle-decoder.js";
import { objectFields, PickleObject, type PickleValue } from "../../../src/ezmsg/pickle-values.js";
import { PickleWriteError, PyDataclass, PyTuple, encodePickle, settingsFieldUpdateRequest, type PickleWritable } from "../../../src/ezmsg/pickle-writer.js";
import { PYTHON } from "../../interop/python-process.js";
import { typed } from "./helpers.js";

const big = 2n ** 70n + 5n;
const longList = Array.from({ length: 2503 }, (_, i) => BigInt(i));
const longDict = new Map<PickleWritable, PickleWritable>(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i + 0.5]));

/** [name, value, Python literal it must equal, type for type] */
const CASES: [string, PickleWritable, string][] = [
  ["None", null, "None"],
  ["True", true, "True"],
  ["False", false, "False"],
  ["int 0", 0n, "0"],
  ["int 255", 255n, "255"],
  ["int 256", 256n, "256"],
  ["int 65535", 65535n, "65535"],
  ["int 65536", 65536n, "65536"],
  ["int -1", -1n, "-1"],
  ["int -2^31", -(2n ** 31n), "-2**31"],
  ["int 2^31-1", 2n ** 31n - 1n, "2**31-1"],
  ["int 2^31", 2n ** 31n, "2**31"],
  ["int -2^31-1", -(2n ** 31n) - 1n, "-2**31-1"],
  ["int 2^53+1", 2n ** 53n + 1n, "2**53+1"],
  ["int 2^63", 2n ** 63n, "2**63"],
  ["int -2^63", -(2n ** 63n), "-2**63"],
  ["int 128 (sign byte)", 128n, "128"],
  ["int 2^70+5", big, "2**70+5"],
  ["int -2^70-5", -big, "-(2**70+5)"],
  ["int 2^2100 (LONG4)", 2n ** 2100n, "2**2100"],
  ["float 2.0", 2.0, "2.0"],
  ["float -0.0", -0.0, "-0.0"],
  ["float 0.1", 0.1, "0.1"],
  ["float 1e308", 1e308, "1e308"],
  ["float 5e-324", 5e-324, "5e-324"],
  ["float nan", Number.NaN, "float('nan')"],
  ["float inf", Number.POSITIVE_INFINITY, "float('inf')"],
  ["float -inf", Number.NEGATIVE_INFINITY, "float('-inf')"],
  ["str empty", "", "''"],
  ["str ascii", "lowpass", "'lowpass'"],
  ["str non-ASCII", "µV-tick-ü-漢字-😀", "'µV-tick-ü-漢字-😀'"],
  ["str 255 bytes", "x".repeat(255), "'x'*255"],
  ["str 256 bytes (BINUNICODE)", "y".repeat(256), "'y'*256"],
  ["str lone surrogate", "a\ud800b", "'a\\ud800b'"],
  ["str NUL", "a\u0000b", "'a\\x00b'"],
  ["list empty", [], "[]"],
  ["list one", [1.5], "[1.5]"],
  ["list mixed", [1n, 2.0, "x", null, true, [false]], "[1, 2.0, 'x', None, True, [False]]"],
  ["list 2503 ints (APPENDS batches)", longList, "list(range(2503))"],
  ["tuple empty", new PyTuple([]), "()"],
  ["tuple 1", new PyTuple([1n]), "(1,)"],
  ["tuple 2", new PyTuple([1n, 2.0]), "(1, 2.0)"],
  ["tuple 3", new PyTuple(["a", "b", null]), "('a', 'b', None)"],
  ["tuple 5", new PyTuple([1n, 2n, 3n, 4n, new PyTuple([5n])]), "(1, 2, 3, 4, (5,))"],
  ["dict empty", new Map(), "{}"],
  ["dict one", new Map([["gain", 2.0]]), "{'gain': 2.0}"],
  [
    "dict order and nesting",
    new Map<PickleWritable, PickleWritable>([
      ["z", 1n],
      ["a", new Map([["order", 4n]])],
      ["m", [new Map([["k", "v"]])]],
    ]),
    "{'z': 1, 'a': {'order': 4}, 'm': [{'k': 'v'}]}",
  ],
  [
    "dict non-str keys",
    new Map<PickleWritable, PickleWritable>([
      [1n, "int"],
      [2.5, "float"],
      [null, "none"],
      [true, "bool"],
      [new PyTuple([1n, "a"]), "tuple"],
    ]),
    "{1: 'int', 2.5: 'float', None: 'none', True: 'bool', (1, 'a'): 'tuple'}",
  ],
  ["dict 1001 items (SETITEMS batches)", longDict, "{f'k{i}': i + 0.5 for i in range(1001)}"],
  ["a shared value written twice", [new PyTuple([1n]), new PyTuple([1n])], "[(1,), (1,)]"],
  ["deep list (200 levels)", deep(200), "eval('['*200 + ']'*200)"],
];

function deep(n: number): PickleWritable {
  let v: PickleWritable = [];
  for (let i = 1; i < n; i++) v = [v];
  return v;
}

/** Load every pickle in one Python process; report, per case, whether value and types equal the literal. */
const PY_CHECK = `
import base64, json, math, pickle, sys
def same(a, b):
    if type(a) is not type(b): return False
    if isinstance(a, float): return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)): return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict): return list(a.keys()) == list(b.keys()) and all(same(k1, k2) and same(a[k1], b[k2]) for k1, k2 in zip(a, b))
    return a == b
out = []
for case in json.load(sys.stdin):
    try:
        got = pickle.loads(base64.b64decode(case["pickle"]))
        want = eval(case["literal"])
        out.append({"name": case["name"], "ok": same(got, want), "got": repr(got)[:200]})
    except Exception as e:
        out.append({"name": case["name"], "ok": False, "got": f"{type(e).__name__}: {e}"})
# The update request: loaded with the real ezmsg 3.9 class.
from ezmsg.core.graphmeta import SettingsFieldUpdateRequest
req = pickle.loads(base64.b64decode(json.load(open(sys.argv[1]))))
out.append({"name": "SettingsFieldUpdateRequest", "ok": isinstance(req, SettingsFieldUpdateRequest) and req.field_path == "filter.cutoff_hz" and same(req.value, (12.5, [1, 'µ'])), "got": repr(req)})
print(json.dumps(out))
`;

describe("pickle writer", () => {
  it("writes values CPython's pickle.loads reads back equal, type for type", async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "pickle-writer-"));
    try {
      const reqFile = join(dir, "req.json");
      writeFileSync(reqFile, JSON.stringify(settingsFieldUpdateRequest("filter.cutoff_hz", new PyTuple([12.5, [1n, "µ"]])).toString("base64")));
      const input = JSON.stringify(CASES.map(([name, value, literal]) => ({ name, literal, pickle: encodePickle(value).toString("base64") })));
      const r = spawnSync(PYTHON, ["-c", PY_CHECK, reqFile], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      expect(r.stderr).toBe("");
      const results = JSON.parse(r.stdout) as { name: string; ok: boolean; got: string }[];
      expect(results.filter((x) => !x.ok)).toEqual([]);
      expect(results.map((x) => x.name)).toEqual([...CASES.map((c) => c[0]), "SettingsFieldUpdateRequest"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("round-trips through our own decoder", () => {
    for (const [name, value] of CASES) {
      const decoded = decodePickle(encodePickle(value));
      expect(typed(decoded), name).toEqual(typed(toDecoded(value) as PickleValue));
    }
    const req = decodePickle(settingsFieldUpdateRequest("gain", 2.0));
    expect(req).toBeInstanceOf(PickleObject);
    const obj = req as PickleObject;
    expect(obj.cls.qualifiedName).toBe("ezmsg.core.graphmeta.SettingsFieldUpdateRequest");
    expect(obj.construction).toBe("newobj");
    expect(objectFields(obj)).toEqual(
      new Map<unknown, unknown>([
        ["field_path", "gain"],
        ["value", 2.0],
      ]),
    );
  });

  it("writes exactly the opcodes CPython writes for a dataclass (minus FRAME and MEMOIZE)", () => {
    // pickletools.optimize(pickle.dumps(SettingsFieldUpdateRequest('gain', 2.0), 4)) with the frame
    // header removed: PROTO 4, STACK_GLOBAL, EMPTY_TUPLE, NEWOBJ, dict, BUILD.
    const expected = Buffer.concat([
      Buffer.from([0x80, 0x04]),
      Buffer.from([0x8c, 20]),
      Buffer.from("ezmsg.core.graphmeta"),
      Buffer.from([0x8c, 26]),
      Buffer.from("SettingsFieldUpdateRequest"),
      Buffer.from([0x93, 0x29, 0x81, 0x7d, 0x28, 0x8c, 10]),
      Buffer.from("field_path"),
      Buffer.from([0x8c, 4]),
      Buffer.from("gain"),
      Buffer.from([0x8c, 5]),
      Buffer.from("value"),
      Buffer.from([0x47, 0x40, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0x75, 0x62, 0x2e]),
    ]);
    expect(settingsFieldUpdateRequest("gain", 2.0)).toEqual(expected);
  });

  it("refuses anything that is not a plain value, naming where it is", () => {
    const refuse = (v: unknown, path: string, problem: RegExp): void => {
      let err: unknown;
      try {
        encodePickle(v as PickleWritable);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PickleWriteError);
      expect((err as PickleWriteError).path).toBe(path);
      expect((err as PickleWriteError).problem).toMatch(problem);
    };
    refuse({ gain: 1 }, "value", /Object is not a plain value/);
    refuse([1n, undefined], "value[1]", /undefined is not a plain value/);
    refuse(new Map([["f", () => 1]]), 'value["f"]', /function is not a plain value/);
    refuse(new Uint8Array(2), "value", /bytes is not a plain value/);
    refuse(new Set([1]), "value", /Set is not a plain value/);
    refuse(new Date(0), "value", /Date is not a plain value/);
    refuse(new Map([[[1n], 1n]]), "value key", /dict key/);
    refuse(new PyDataclass("os", "system", new Map()), "value", /class os.system is not one the writer may name/);
    refuse(new PyDataclass("ezmsg.core.graphmeta", "GraphSnapshot", new Map()), "value", /not one the writer may name/);
    const cyclic: PickleWritable[] = [];
    cyclic.push(cyclic);
    refuse(cyclic, "value[0]", /contains itself/);
    expect(() => encodePickle(deep(50), { maxDepth: 10 })).toThrow(/nested deeper than 10 levels/);
  });
});

/** What our decoder gives for a written value (tuples are arrays there). */
function toDecoded(v: PickleWritable): unknown {
  if (v instanceof PyTuple) return v.items.map(toDecoded);
  if (Array.isArray(v)) return v.map(toDecoded);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [toDecoded(k), toDecoded(x)]));
  return v;
}
