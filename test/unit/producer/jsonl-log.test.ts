import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type LogRecord, LogRecordCursor, readEventLog, readEventLogBatches } from "../../../src/producer/sources/jsonl-log.js";
import { tempDir } from "../sinks/table-read.js";

/** A log of `n` lines of ~1 KiB (so it spans several 1 MiB read chunks), with a bad line every 997th. */
async function longLog(n: number): Promise<string> {
  const pad = "p".repeat(900);
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    if (i % 997 === 0) lines.push("{not json");
    else if (i % 500 === 0) lines.push("");
    else
      lines.push(
        JSON.stringify({
          seq: i,
          timestamp: 1000 + i / 10,
          component_address: `C${i % 7}`,
          event_type: "UPDATED",
          repr_value: `{"i": ${i}, "pad": "${pad}"}`,
          structured_value: { i, pad },
        }),
      );
  }
  const path = join(tempDir("jsonl-log-"), "long.jsonl");
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

const summary = (r: LogRecord) => (r.kind === "event" ? `${r.line}:${r.event.seq}` : `${r.line}:${r.kind}`);

describe("readEventLogBatches", () => {
  it("hands out every record of a multi-chunk log in order, in non-empty batches, the first one small", async () => {
    const path = await longLog(6000); // ~6 MiB
    const batches: LogRecord[][] = [];
    for await (const b of readEventLogBatches(path)) batches.push(b);
    const flat: LogRecord[] = [];
    for await (const r of readEventLog(path)) flat.push(r);
    expect(batches.flat().map(summary)).toEqual(flat.map(summary));
    expect(flat.length).toBe(6000 - 12); // 12 blank lines skipped
    expect(flat.filter((r) => r.kind === "error").map((r) => r.line)).toEqual([997, 1994, 2991, 3988, 4985, 5982]);
    expect(batches.every((b) => b.length > 0 && b.length <= 256)).toBe(true);
    expect(batches[0]!.length).toBeLessThanOrEqual(16); // the first event is not kept waiting for a chunk
    expect(batches.length).toBeGreaterThan(6); // batches follow the read chunks
  });
});

describe("LogRecordCursor", () => {
  it("takes the records at hand synchronously and reads on only when asked", async () => {
    const path = await longLog(3000);
    const cursor = new LogRecordCursor(path);
    expect(cursor.take()).toBeUndefined(); // nothing read yet
    const seen: LogRecord[] = [];
    let reads = 0;
    for (;;) {
      const r = cursor.take();
      if (r !== undefined) {
        seen.push(r);
        continue;
      }
      if (!(await cursor.more())) break;
      reads++;
    }
    const flat: LogRecord[] = [];
    for await (const r of readEventLog(path)) flat.push(r);
    expect(seen.map(summary)).toEqual(flat.map(summary));
    expect(reads).toBeLessThan(seen.length / 100);
    expect(await cursor.more()).toBe(false);
    await cursor.close();
  });

  it("next() reads across batches, and close() stops a log read part way", async () => {
    const path = await longLog(3000);
    const cursor = new LogRecordCursor(path);
    const firstThousand: string[] = [];
    for (let i = 0; i < 1000; i++) firstThousand.push(summary((await cursor.next())!));
    await cursor.close();
    expect(await cursor.next()).toBeUndefined();
    const flat: string[] = [];
    for await (const r of readEventLog(path)) flat.push(summary(r));
    expect(firstThousand).toEqual(flat.slice(0, 1000));
  });

  it("a missing file rejects on the first read, naming the problem", async () => {
    const cursor = new LogRecordCursor("/nonexistent/log.jsonl");
    await expect(cursor.more()).rejects.toThrow("ENOENT");
  });
});
