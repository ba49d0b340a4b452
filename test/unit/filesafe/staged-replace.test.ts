/** Copy, change, replace (#11): the original is untouched unless the whole change succeeded. */
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, appendFileSync, linkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ReplaceAbandonedError,
  findLeftovers,
  removeLeftovers,
  replaceViaCopy,
  replacementProblem,
  stagedCopyPath,
} from "../../../src/filesafe/staged-replace.js";

function file(content = "original"): string {
  const p = join(mkdtempSync(join(tmpdir(), "replace-")), "rec.nwb");
  writeFileSync(p, content);
  return p;
}

describe("replaceViaCopy", () => {
  it("replaces the file with the changed copy and keeps its permission bits", async () => {
    const p = file();
    chmodSync(p, 0o640);
    const phases: string[] = [];
    const { result } = await replaceViaCopy(
      p,
      "t1",
      async (copy) => {
        expect(readFileSync(p, "utf8")).toBe("original"); // the original is not touched while the copy changes
        appendFileSync(copy, "+settings");
        return 42;
      },
      { onPhase: (x) => phases.push(x) },
    );
    expect(result).toBe(42);
    expect(readFileSync(p, "utf8")).toBe("original+settings");
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(phases).toEqual(["copy", "change", "sync", "replace", "done"]);
    expect(await findLeftovers(p)).toEqual([]);
  });

  it("leaves the file untouched and no copy behind when the change fails", async () => {
    const p = file();
    await expect(
      replaceViaCopy(p, "t2", async (copy) => {
        appendFileSync(copy, "half");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(readFileSync(p, "utf8")).toBe("original");
    expect(readdirSync(join(p, ".."))).toEqual(["rec.nwb"]);
  });

  it("abandons the replacement when the original changed meanwhile (a writer that takes no lock)", async () => {
    const p = file();
    await expect(
      replaceViaCopy(p, "t3", async () => {
        appendFileSync(p, " and more from another program");
      }),
    ).rejects.toBeInstanceOf(ReplaceAbandonedError);
    expect(readFileSync(p, "utf8")).toBe("original and more from another program");
    expect(await findLeftovers(p)).toEqual([]);
  });

  it("abandons the replacement when cancelled", async () => {
    const p = file();
    await expect(replaceViaCopy(p, "t4", async (c) => appendFileSync(c, "x"), { cancelled: () => "interrupted" })).rejects.toThrow(/interrupted/);
    expect(readFileSync(p, "utf8")).toBe("original");
  });

  it("finds and removes leftovers of an interrupted run, and only those", async () => {
    const p = file();
    writeFileSync(stagedCopyPath(p, "dead1"), "half");
    writeFileSync(join(p, "..", ".rec.nwb.something-else.partial"), "not ours");
    writeFileSync(join(p, "..", ".other.nwb.nwbs-attach-x.partial"), "another file's");
    expect(await findLeftovers(p)).toEqual([stagedCopyPath(p, "dead1")]);
    expect(await removeLeftovers(p)).toEqual([stagedCopyPath(p, "dead1")]);
    expect(readdirSync(join(p, "..")).sort()).toEqual([".other.nwb.nwbs-attach-x.partial", ".rec.nwb.something-else.partial", "rec.nwb"]);
  });

  it("refuses a file with several hard links", async () => {
    const p = file();
    expect(await replacementProblem(p)).toBeUndefined();
    linkSync(p, `${p}.link`);
    expect(await replacementProblem(p)).toMatch(/2 hard links/);
  });
});
