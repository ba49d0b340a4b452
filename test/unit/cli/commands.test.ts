import { describe, expect, it } from "vitest";
import type { CommandContext } from "../../../src/cli/context.js";
import { COMMANDS, main } from "../../../src/cli/main.js";

const ctx: CommandContext = { exitCode: 0, stdout: process.stdout, stderr: process.stderr };

describe("the command table main.ts loads commands from", () => {
  it("names each command by the word it is called with", async () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const command = (await load())(ctx).command;
      expect(typeof command === "string" ? command.split(" ")[0] : command, name).toBe(name);
    }
  });

  it("still suggests a command for a misspelt one (all are registered when the first word names none)", async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(["convrt", "x.jsonl"])).toBe(2);
    } finally {
      process.stderr.write = original;
    }
    expect(writes.join("")).toMatch(/Did you mean convert\?/);
  });
});
