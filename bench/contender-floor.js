/**
 * Contender: the floor. The same rows our sinks wrote (dumped by bench/dump_rows.py into raw
 * little-endian / NUL-terminated UTF-8 files) appended with raw h5wasm calls: create the datasets
 * (same paths, dtypes, row shapes and chunk rows, no attributes, no NWB root layout), then per
 * batch one resize_dataset + one set_dataset_data per dataset from bytes copied straight into the
 * wasm heap, and H5Fflush. No event logic, no JSON, no string decoding or encoding.
 *
 * Batching: the first batch holds the startup rows (as our sinks' first flush does), later batches
 * the most rows our flush policy ever stages (FLUSH_ROWS) — the floor never waits for a timer.
 *
 *   node bench/contender-floor.js <out.nwb> <firstRows> <dumpDir>[,<dumpDir>...]
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { FLUSH_ROWS } from "./flush-policy.js";

const now = () => performance.timeOrigin + performance.now();
const [outPath, firstRowsArg, dirs] = process.argv.slice(2);
const tProcess = performance.timeOrigin;
const Module = await h5wasm.ready;
Module.activate_throwing_error_handler();
const tReady = now();

const H5_DTYPE = { float64: "<d", int64: "<q", int8: "<b", uint8: "<B", text: "S" };
const BYTES = { float64: 8, int64: 8, int8: 1, uint8: 1 };
const EMPTY = { float64: () => new Float64Array(0), int64: () => new BigInt64Array(0), int8: () => new Int8Array(0), uint8: () => new Uint8Array(0) };

const tStart = now();
const cpuStartMs = (process.cpuUsage().user + process.cpuUsage().system) / 1000;
const file = new h5wasm.File(outPath, "w");
const datasets = [];
for (const dir of dirs.split(",")) {
  for (const d of JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"))) {
    const slash = d.path.lastIndexOf("/");
    const groupPath = d.path.slice(0, slash);
    let parent = file.get(groupPath);
    if (!parent) {
      let p = "";
      for (const part of groupPath.split("/")) {
        p = p ? `${p}/${part}` : part;
        if (!file.get(p)) file.create_group(p);
      }
      parent = file.get(groupPath);
    }
    parent.create_dataset({
      name: d.path.slice(slash + 1),
      data: d.dtype === "text" ? [] : EMPTY[d.dtype](),
      shape: [0, ...d.rowShape],
      maxshape: [null, ...d.rowShape],
      chunks: [d.chunkRows, ...d.rowShape.map((x) => Math.max(1, x))],
      dtype: H5_DTYPE[d.dtype],
    });
    const rowSize = d.rowShape.reduce((a, b) => a * b, 1);
    const ds = { ...d, rowSize, fd: openSync(join(dir, `${d.file}.bin`), "r"), written: 0 };
    // Copy: a small file's Buffer is a slice of Node's shared pool (and maybe unaligned).
    if (d.dtype === "text") ds.offsets = new BigUint64Array(new Uint8Array(readFileSync(join(dir, `${d.file}.off`))).buffer);
    datasets.push(ds);
  }
}

/** Append rows [from, to) of one dataset (rows past its end are ignored). */
function append(ds, from, to) {
  to = Math.min(to, ds.rows);
  if (to <= from) return;
  const n = to - from;
  const count = [BigInt(n), ...ds.rowShape.map(BigInt)];
  const offset = [BigInt(from), ...ds.rowShape.map(() => 0n)];
  const strides = count.map(() => 1n);
  Module.resize_dataset(file.file_id, ds.path, [BigInt(to), ...ds.rowShape.map(BigInt)]);
  if (ds.dtype === "text") {
    const first = from * ds.rowSize;
    const last = to * ds.rowSize; // exclusive, in strings
    const start = Number(ds.offsets[first]);
    const end = last < ds.offsets.length ? Number(ds.offsets[last]) : fileSize(ds.fd);
    const size = end - start;
    const textPtr = Module._malloc(size);
    const tablePtr = Module._malloc(4 * (last - first));
    readSync(ds.fd, Module.HEAPU8, textPtr, size, start);
    const table = new Uint32Array(Module.HEAPU8.buffer, tablePtr, last - first);
    for (let i = first; i < last; i++) table[i - first] = textPtr + Number(ds.offsets[i]) - start;
    Module.set_dataset_data(file.file_id, ds.path, count, offset, strides, BigInt(tablePtr));
    Module._free(tablePtr);
    Module._free(textPtr);
  } else {
    const size = n * ds.rowSize * BYTES[ds.dtype];
    const ptr = Module._malloc(size);
    readSync(ds.fd, Module.HEAPU8, ptr, size, from * ds.rowSize * BYTES[ds.dtype]);
    Module.set_dataset_data(file.file_id, ds.path, count, offset, strides, BigInt(ptr));
    Module._free(ptr);
  }
  ds.written = to;
}

function fileSize(fd) {
  return fstatSync(fd).size;
}

const maxRows = Math.max(...datasets.map((d) => d.rows));
let flushes = 0;
let tSteady = 0; // after the first batch (the startup rows)
let at = 0;
let next = Math.min(Number(firstRowsArg), maxRows);
while (at < maxRows) {
  for (const ds of datasets) append(ds, at, next);
  file.flush();
  flushes++;
  if (tSteady === 0) tSteady = now();
  at = next;
  next = Math.min(at + FLUSH_ROWS, maxRows);
}
file.close();
for (const ds of datasets) closeSync(ds.fd);
const tClosed = now();

process.stdout.write(
  `${JSON.stringify({
    events: maxRows,
    rows: datasets.reduce((n, d) => n + d.rows, 0),
    flushes,
    tProcess,
    tReady,
    tStart,
    tSteady,
    tClosed,
    steadyEvents: maxRows - Math.min(Number(firstRowsArg), maxRows),
    tSinkMs: tClosed - tStart,
    maxRssKiB: process.resourceUsage().maxRSS,
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    cpuStartMs,
    endMemory: { ...process.memoryUsage(), wasmHeap: Module.HEAPU8.length },
  })}\n`,
);
