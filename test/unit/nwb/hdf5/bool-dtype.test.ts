/**
 * Bool columns as h5py writes them (enum int8 FALSE=0/TRUE=1), made from h5wasm placeholders by
 * src/nwb/hdf5/bool-dtype.ts. The truth is h5py and pynwb (test/unit/nwb/hdf5/bool-check.py).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { AppendableDataset } from "../../../../src/nwb/hdf5/appendable-dataset.js";
import { setTextArrayAttr, setTextAttr, setTypeAttrs } from "../../../../src/nwb/hdf5/attributes.js";
import {
  BOOL_ENUM_DTYPE_BODY,
  PLACEHOLDER_DTYPE_BODY,
  convertToBoolEnum,
  createBoolPlaceholder,
  isBoolEnumMetadata,
  lookup3,
} from "../../../../src/nwb/hdf5/bool-dtype.js";
import { defaultChunkRows } from "../../../../src/nwb/hdf5/appendable-dataset.js";
import { type H5File, type H5Module, h5wasm, loadHdf5 } from "../../../../src/nwb/hdf5/h5wasm.js";
import { NwbFile } from "../../../../src/nwb/nwb-file.js";
import { TimeIntervals } from "../../../../src/nwb/time-intervals.js";

// The repo's own venv (npm run setup:python), found from this file, so the test runs from any clone and any cwd.
const PYTHON = resolve(process.env["NWB_SETTINGS_PYTHON"] ?? fileURLToPath(new URL("../../../../.venv/bin/python", import.meta.url)));
const CHECK = fileURLToPath(new URL("./bool-check.py", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: whatever JSON the Python side prints; each test checks its fields
function py(...args: string[]): any {
  const out = execFileSync(PYTHON, [CHECK, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out.trim().split("\n").pop()!);
}

let module: H5Module;
let dir: string;

beforeAll(async () => {
  module = await loadHdf5();
  dir = mkdtempSync(join(tmpdir(), "bool-dtype-"));
});

const file = (name: string): string => join(dir, name);

function open(path: string, mode: "w" | "a" | "r", libver?: "earliest" | "v110"): H5File {
  return libver ? new h5wasm.File(path, mode, { libver: [libver, "latest"] }) : new h5wasm.File(path, mode);
}

/** Append rows through the NWB layer's writer (resize_dataset + set_dataset_data). */
function appendRows(path: string, ds: string, rowShape: number[], batches: (number | number[])[][]): void {
  const f = open(path, "a");
  try {
    const a = AppendableDataset.open(module, f, ds, "int8");
    expect(a.rowShape).toEqual(rowShape);
    for (const batch of batches) {
      for (const row of batch) a.append(row);
      a.flush();
    }
  } finally {
    f.close();
  }
}

describe("lookup3 (HDF5 metadata checksum)", () => {
  it("matches the reference values of Bob Jenkins' lookup3.c driver", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(lookup3(enc(""), 0)).toBe(0xdeadbeef);
    expect(lookup3(enc(""), 0xdeadbeef)).toBe(0xbd5b7dde);
    expect(lookup3(enc("Four score and seven years ago"), 0)).toBe(0x17770551);
    expect(lookup3(enc("Four score and seven years ago"), 1)).toBe(0xcd628161);
  });
});

describe("encodings", () => {
  it("placeholder and enum datatype messages are the same length (33 bytes)", () => {
    expect(PLACEHOLDER_DTYPE_BODY.length).toBe(33);
    expect(BOOL_ENUM_DTYPE_BODY.length).toBe(33);
  });

  it("the enum body is byte for byte what HDF5 writes for h5py's bool (libver v108)", () => {
    const p = file("h5py-ref.h5");
    execFileSync(PYTHON, [
      "-c",
      `import h5py\nwith h5py.File(${JSON.stringify(p)}, "w", libver=("v108", "latest")) as f:\n    f.create_dataset("b", shape=(0,), maxshape=(None,), chunks=(64,), dtype=bool)`,
    ]);
    const bytes = readFileSync(p);
    // Message header (type 3, size 33, flags constant) followed by the body.
    const needle = Buffer.concat([Buffer.from([0x03, 0x21, 0x00, 0x01]), Buffer.from(BOOL_ENUM_DTYPE_BODY)]);
    expect(bytes.indexOf(needle)).toBeGreaterThan(0);
  });
});

describe("convertToBoolEnum", () => {
  it("turns placeholders (scalar and (n, 3) cells) into h5py bools that h5wasm and h5py append to", async () => {
    const p = file("basic.h5");
    const f = open(p, "w");
    f.create_group("t");
    createBoolPlaceholder(f, "t/flag");
    createBoolPlaceholder(f, "t/mask", { rowShape: [3], chunkRows: 8 });
    f.close();

    const r = await convertToBoolEnum(p, ["t/flag", "/t/mask"]);
    expect(r).toEqual({ converted: ["t/flag", "/t/mask"], alreadyBool: [] });

    const g = open(p, "r");
    const meta = (g.get("t/flag") as InstanceType<typeof h5wasm.Dataset>).metadata;
    expect(isBoolEnumMetadata(meta)).toBe(true);
    expect(meta.maxshape).toHaveLength(1);
    g.close();

    // Appends through the NWB layer's low-level writer, in several batches and two sessions.
    appendRows(p, "t/flag", [], [[1, 0, 1], [1]]);
    appendRows(p, "t/flag", [], [[0, 0]]);
    appendRows(
      p,
      "t/mask",
      [3],
      [
        [[1, 0, 1]],
        [
          [0, 0, 0],
          [1, 1, 1],
        ],
      ],
    );

    const flag = py("h5py", p, "t/flag");
    expect(flag).toMatchObject({ dtype: "bool", numpy_bool: true, enum: { FALSE: 0, TRUE: 1 }, shape: [6], maxshape: [null], chunks: [defaultChunkRows([])] }); // the default every column shares
    expect(flag.values).toEqual([true, false, true, true, false, false]);
    const mask = py("h5py", p, "t/mask");
    expect(mask).toMatchObject({ dtype: "bool", shape: [3, 3], maxshape: [null, 3], chunks: [8, 3] });
    expect(mask.values).toEqual([
      [true, false, true],
      [false, false, false],
      [true, true, true],
    ]);

    // h5py appends too, and h5wasm can append after it.
    expect(py("h5py", p, "t/flag", "[true, false]").values).toEqual([true, false, true, true, false, false, true, false]);
    appendRows(p, "t/flag", [], [[1]]);
    expect(py("h5py", p, "t/flag").values).toEqual([true, false, true, true, false, false, true, false, true]);

    // h5wasm reads the values as h5py's bools too.
    const h = open(p, "r");
    expect((h.get("t/flag") as InstanceType<typeof h5wasm.Dataset>).json_value).toEqual([true, false, true, true, false, false, true, false, true]);
    h.close();
  });

  it("is idempotent", async () => {
    const p = file("twice.h5");
    const f = open(p, "w");
    createBoolPlaceholder(f, "b");
    f.close();
    await convertToBoolEnum(p, ["b"]);
    const before = readFileSync(p);
    expect(await convertToBoolEnum(p, ["b"])).toEqual({ converted: [], alreadyBool: ["b"] });
    expect(readFileSync(p).equals(before)).toBe(true);
  });

  it("parses headers that attributes grew: a continuation chunk (OCHK), then dense attribute storage", async () => {
    const p = file("attrs.h5");
    const f = open(p, "w");
    createBoolPlaceholder(f, "b");
    // Objects after the header, so that it cannot grow in place and HDF5 adds a continuation chunk.
    f.create_group("after");
    f.create_dataset({ name: "x", data: new Float64Array(100) });
    const ds = f.get("b") as InstanceType<typeof h5wasm.Dataset>;
    for (let i = 0; i < 6; i++) ds.create_attribute(`attribute_${i}`, `value ${i} `.repeat(20), null, "S");
    f.close();
    expect(readFileSync(p).includes(Buffer.from("OCHK"))).toBe(true);
    const q = file("attrs-dense.h5");
    writeFileSync(q, readFileSync(p));

    expect((await convertToBoolEnum(p, ["b"])).converted).toEqual(["b"]);
    appendRows(p, "b", [], [[1, 0]]);
    expect(py("h5py", p, "b")).toMatchObject({ dtype: "bool", values: [true, false] });

    // More attributes than the compact limit (8): HDF5 moves them to dense storage.
    const g = open(q, "a");
    const dq = g.get("b") as InstanceType<typeof h5wasm.Dataset>;
    for (let i = 6; i < 40; i++) dq.create_attribute(`attribute_${i}`, `value ${i} `.repeat(20), null, "S");
    g.close();
    expect((await convertToBoolEnum(q, ["b"])).converted).toEqual(["b"]);
    appendRows(q, "b", [], [[0, 1]]);
    expect(py("h5py", q, "b")).toMatchObject({ dtype: "bool", values: [false, true] });
  });

  it("works with format bounds v1.10 (superblock v3, layout v4)", async () => {
    const p = file("v110.h5");
    const f = open(p, "w", "v110");
    createBoolPlaceholder(f, "b", { rowShape: [2] });
    f.close();
    expect((await convertToBoolEnum(p, ["b"])).converted).toEqual(["b"]);
    appendRows(
      p,
      "b",
      [2],
      [
        [
          [1, 0],
          [0, 1],
        ],
      ],
    );
    expect(py("h5py", p, "b")).toMatchObject({
      dtype: "bool",
      values: [
        [true, false],
        [false, true],
      ],
    });
  });

  describe("refuses, leaving the file untouched,", () => {
    async function refuses(p: string, paths: string[], message: RegExp): Promise<void> {
      const before = readFileSync(p);
      await expect(convertToBoolEnum(p, paths)).rejects.toThrow(message);
      expect(readFileSync(p).equals(before)).toBe(true);
    }

    it("a dataset that is not a placeholder (and converts none of a batch with one such)", async () => {
      const p = file("int8.h5");
      const f = open(p, "w");
      createBoolPlaceholder(f, "ok");
      f.create_dataset({ name: "i", data: new Int8Array(0), shape: [0], maxshape: [null], chunks: [16], dtype: "<b" });
      f.create_group("g");
      f.close();
      await refuses(p, ["ok", "i"], /i in .* does not have the bool placeholder type/);
      await refuses(p, ["g"], /is not a dataset/);
      await refuses(p, ["missing"], /is not a dataset/);
    });

    it("a placeholder that already holds rows", async () => {
      const p = file("rows.h5");
      const f = open(p, "w");
      createBoolPlaceholder(f, "b");
      f.close();
      const g = open(p, "a");
      module.resize_dataset(g.file_id, "b", [2n]);
      g.close();
      await refuses(p, ["b"], /is not empty/);
    });

    it("a file with format bounds 'earliest' (version 1 object headers)", async () => {
      const p = file("earliest.h5");
      const f = open(p, "w", "earliest");
      createBoolPlaceholder(f, "b");
      f.close();
      await refuses(p, ["b"], /superblock version 0|version 1 object header/);
    });

    it("a corrupted object header", async () => {
      const p = file("corrupt.h5");
      const f = open(p, "w");
      createBoolPlaceholder(f, "b");
      const ref = (f.get("b") as InstanceType<typeof h5wasm.Dataset>).create_reference().ref_data;
      f.close();
      const addr = Number(Buffer.from(ref).readBigUInt64LE(0));
      // One byte of the placeholder's member name, inside the dataset's object header.
      const bytes = readFileSync(p);
      const name = bytes.indexOf(Buffer.from("__nwb_bool_"), addr);
      expect(name).toBeGreaterThan(addr);
      const copy = file("corrupt-copy.h5");
      const corrupted = Buffer.from(bytes);
      corrupted[name + 10] = "X".charCodeAt(0);
      writeFileSync(copy, corrupted);
      // HDF5 (opening the object) or the checksum check refuses it; nothing is written.
      await refuses(copy, ["b"], /./);
    });
  });
});

describe("NWB TimeIntervals with bool columns", () => {
  it("pynwb reads enum bool columns (scalar and (n, 3)) as bool; validate() is clean", async () => {
    const p = file("table.nwb");
    const table = "intervals/trials_b";
    // The table as TimeIntervals.create lays it out, with the bool columns created as placeholders
    // (the proposed integration; see docs/bool-columns.md).
    let nwb = await NwbFile.create(p, { session_description: "bool columns" }, { overwrite: true });
    const g = nwb.group(table);
    setTextArrayAttr(g, "colnames", ["start_time", "stop_time", "gain", "enabled", "mask"]);
    setTextAttr(g, "description", "bool columns");
    setTypeAttrs(g, "core", "TimeIntervals", randomUUID());
    const column = (name: string, desc: string, make: () => void): void => {
      make();
      const d = nwb.dataset(`${table}/${name}`);
      setTextAttr(d, "description", desc);
      setTypeAttrs(d, "hdmf-common", "VectorData", randomUUID());
    };
    column("start_time", "Start time of epoch, in seconds", () => nwb.createAppendable(`${table}/start_time`, { type: "float64" }));
    column("stop_time", "Stop time of epoch, in seconds", () => nwb.createAppendable(`${table}/stop_time`, { type: "float64" }));
    column("gain", "a float", () => nwb.createAppendable(`${table}/gain`, { type: "float64" }));
    column("enabled", "a bool", () => createBoolPlaceholder(nwb.file, `${table}/enabled`));
    column("mask", "three bools", () => createBoolPlaceholder(nwb.file, `${table}/mask`, { rowShape: [3] }));
    nwb.createAppendable(`${table}/id`, { type: "int64" });
    setTypeAttrs(nwb.dataset(`${table}/id`), "hdmf-common", "ElementIdentifiers", randomUUID());
    nwb.close();

    await convertToBoolEnum(p, [`${table}/enabled`, `${table}/mask`]);

    nwb = await NwbFile.open(p);
    const cols = {
      start: nwb.openAppendable(`${table}/start_time`, "float64"),
      stop: nwb.openAppendable(`${table}/stop_time`, "float64"),
      gain: nwb.openAppendable(`${table}/gain`, "float64"),
      enabled: nwb.openAppendable(`${table}/enabled`, "int8"),
      mask: nwb.openAppendable(`${table}/mask`, "int8"),
      id: nwb.openAppendable(`${table}/id`, "int64"),
    };
    const rows = [
      [0, 1, 0.5, 1, [1, 0, 0]],
      [1, 2, 1.5, 0, [0, 1, 0]],
      [2, 3, 2.5, 1, [1, 1, 1]],
    ] as const;
    rows.forEach(([s, e, gain, en, m], i) => {
      cols.start.append(s);
      cols.stop.append(e);
      cols.gain.append(gain);
      cols.enabled.append(en);
      cols.mask.append([...m]);
      cols.id.append(BigInt(i));
    });
    for (const c of Object.values(cols)) c.flush();
    nwb.close();

    const r = py("nwb", p, "trials_b");
    expect(r.dtypes).toMatchObject({ start_time: "float64", gain: "float64", enabled: "bool", mask: "object" });
    expect(r.cell_dtypes).toMatchObject({ enabled: "bool", mask: "bool" });
    expect(r.values.enabled).toEqual([true, false, true]);
    expect(r.values.mask).toEqual([
      [true, false, false],
      [false, true, false],
      [true, true, true],
    ]);
    expect(r.validate).toEqual([]);
  });

  it("a TimeIntervals bool column is the enum bool and reads as bool", async () => {
    const p = file("ti.nwb");
    const nwb = await NwbFile.create(p, { session_description: "ti" }, { overwrite: true });
    const t = await TimeIntervals.create(nwb, "flags", "d", [{ name: "on", type: "bool", description: "b" }]);
    expect(isBoolEnumMetadata(nwb.dataset("intervals/flags/on").metadata)).toBe(true);
    t.appendRow(0, 1, new Map([["on", true]]));
    nwb.close();
    const r = py("nwb", p, "flags");
    expect(r.dtypes["on"]).toBe("bool");
    expect(r.validate).toEqual([]);
  });
});
