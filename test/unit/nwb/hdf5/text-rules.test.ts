import { describe, expect, it } from "vitest";
import { objectNameProblem, textProblem } from "../../../../src/nwb/hdf5/text-rules.js";

describe("textProblem", () => {
  it.each([
    ["plain", undefined],
    ["é 日本 🎉", undefined],
    ["a\u0000b", "NUL character"],
    ["\ud800", "lone UTF-16 surrogate (\\ud800)"],
    ["x\udfff", "lone UTF-16 surrogate (\\udfff)"],
    ["\ud83c\udf89\ud800", "lone UTF-16 surrogate (\\ud800)"],
  ])("%j", (s, problem) => {
    if (problem === undefined) expect(textProblem(s)).toBeUndefined();
    else expect(textProblem(s)).toContain(problem);
  });
});

describe("objectNameProblem", () => {
  it.each([
    ["settings_annotations", undefined],
    ["réglages_日本", undefined],
    ["", "empty"],
    [".", "empty"],
    ["..", "empty"],
    ["a/b", "contains '/'"],
    ["a\u0000", "NUL"],
  ])("%j", (s, problem) => {
    if (problem === undefined) expect(objectNameProblem(s)).toBeUndefined();
    else expect(objectNameProblem(s)).toContain(problem);
  });
});
