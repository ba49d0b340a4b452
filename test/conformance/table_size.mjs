// Writes one typed-column table of COLUMNS settings (a third int, a third float, a third text) and
// ROWS states (the startup snapshot, then ROWS-1 updates of one setting), through the real sink,
// with complete metadata; prints {"columns", "rows", "bytes", "write_s"}. For test_table_size.py.
//
//   node test/conformance/table_size.mjs OUT.nwb COLUMNS ROWS
import { statSync } from "node:fs";
import { loadMetadataFile } from "../../dist/nwb/metadata.js";
import { SegmentedOutput } from "../../dist/output/segmented-output.js";
import { TableSink } from "../../dist/sinks/table-sink.js";

const [out, columnsArg, rowsArg] = process.argv.slice(2);
const columns = Number(columnsArg);
const rows = Number(rowsArg);
const meta = await loadMetadataFile(new URL("../fixtures/logs/table/meta.yaml", import.meta.url).pathname);
const output = new SegmentedOutput(out, meta);
const sink = new TableSink(output);
const settings = new Map();
for (let i = 0; i < columns; i++) settings.set(`k${i}`, i % 3 === 0 ? BigInt(i) : i % 3 === 1 ? i + 0.5 : `v${i}`);
const event = (seq, t, type, value) => ({
  seq,
  timestamp: t,
  component_address: "C",
  event_type: type,
  repr_value: "",
  structured_value: value,
  source_session_id: null,
  table_name: "x",
});
const t0 = performance.now();
await sink.write(event(1, 1, "INITIAL", settings));
for (let r = 1; r < rows; r++) await sink.write(event(r + 1, 1 + r, "UPDATED", new Map([["k0", BigInt(r)]])));
await sink.close(rows + 1);
await output.close();
const write_s = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ columns, rows, bytes: statSync(out).size, write_s })}\n`);
