import { describe, expect, it } from "vitest";
import { deepMerge, ruleMatches } from "./gitlab.js";

const vars = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", EMPTY: "" };

describe("GitLab rules:if, the subset the templates use", () => {
  it.each([
    ['$CI_PIPELINE_SOURCE == "push"', true],
    ['$CI_PIPELINE_SOURCE == "schedule"', false],
    ['$CI_PIPELINE_SOURCE != "schedule"', true],
    ['$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', true],
    ['$CI_PIPELINE_SOURCE == "web" || $CI_COMMIT_BRANCH == "main"', true],
    ['($CI_PIPELINE_SOURCE == "web" || $CI_PIPELINE_SOURCE == "schedule") && $CI_COMMIT_BRANCH', false],
    ["$UNDEFINED == null", true],
    ["$EMPTY", false],
    ["$CI_COMMIT_BRANCH", true],
  ])("%s → %s", (expr, expected) => {
    expect(ruleMatches(expr, vars)).toBe(expected);
  });

  it("refuses what it does not model", () => {
    expect(() => ruleMatches("$CI_COMMIT_BRANCH =~ /^main$/", vars)).toThrow(/unexpected =~|outside the supported subset/);
  });
});

describe("GitLab's merge for include and extends", () => {
  it("merges hashes deeply and replaces everything else", () => {
    expect(deepMerge({ variables: { A: "1", B: "2" }, script: ["a"], tags: ["x"] }, { variables: { B: "3" }, script: ["b"] })).toEqual({ variables: { A: "1", B: "3" }, script: ["b"], tags: ["x"] });
  });
});
