import { describe, expect, it } from "vitest";
import { condition, evaluate, interpolate, type ExprContext } from "./expressions.js";

const ctx: ExprContext = {
  contexts: {
    matrix: { version: "1.16.15", sha256: "" },
    needs: { plan: { result: "success", outputs: { matrix: '{"include":[{"slug":"a"}]}', empty: "false" } } },
    inputs: { line: "" },
    vars: { KUBELET_NOKMEM: "x.tgz" },
    github: { ref_name: "main" },
  },
};

describe("expressions (the subset the templates use)", () => {
  it.each([
    ["matrix.version", "1.16.15"],
    ["matrix.missing", null],
    ["needs.plan.outputs.empty != 'true'", true],
    ["matrix.sha256 != ''", false],
    ["'ABC' == 'abc'", true],
    ["1 == '1'", true],
    ["null == ''", false],
    ["inputs.line || 'all'", "all"],
    ["vars.KUBELET_NOKMEM && 'set'", "set"],
    ["!(matrix.sha256)", true],
    ["fromJSON(needs.plan.outputs.matrix).include[0].slug", "a"],
    ["contains('kubelet-1.16', '1.16')", true],
    ["startsWith(github.ref_name, 'ma')", true],
    ["'it''s'", "it's"],
  ])("%s", (expr, expected) => {
    expect(evaluate(expr, ctx)).toEqual(expected);
  });

  it("a whole-string expression keeps its type; embedded ones become text", () => {
    expect(interpolate("${{ fromJSON(needs.plan.outputs.matrix) }}", ctx)).toEqual({ include: [{ slug: "a" }] });
    expect(interpolate("out/${{ matrix.version }}/x", ctx)).toBe("out/1.16.15/x");
    expect(interpolate("${{ matrix.missing }}", ctx)).toBe(null);
  });

  it("if: means success() && … unless it names a status function", () => {
    const failed = { ...ctx, status: "failure" as const };
    expect(condition("matrix.version == '1.16.15'", ctx)).toBe(true);
    expect(condition("matrix.version == '1.16.15'", failed)).toBe(false);
    expect(condition("always()", failed)).toBe(true);
    expect(condition("${{ failure() }}", failed)).toBe(true);
    expect(condition(undefined, failed)).toBe(false);
  });

  it.each(["hashFiles('x')", "matrix.version >= 1", "unknown.context"])("refuses %s, outside the subset", (expr) => {
    expect(() => evaluate(expr, ctx)).toThrow();
  });
});
