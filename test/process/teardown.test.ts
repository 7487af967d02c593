/** What a run holds is given back once each, last taken first, and at once on a signal. */
import { describe, expect, it } from "vitest";
import { Held, teardownSettled } from "../../src/process/teardown.js";

describe("Held", () => {
  it("gives everything back last taken first, each once, even after one was given back early", async () => {
    const given: string[] = [];
    const held = new Held();
    for (const what of ["lock", "folder", "log", "container"]) held.take(what, () => Promise.resolve(given.push(what)));
    await held.release("log");
    await held.release("log");
    await held.releaseAll();
    expect(given).toEqual(["log", "container", "folder", "lock"]);
  });

  it("keeps giving back after one fails, and an early release reports its failure", async () => {
    const given: string[] = [];
    const held = new Held();
    held.take("lock", () => Promise.resolve(given.push("lock")));
    held.take("container", () => Promise.reject(new Error("docker rm failed")));
    held.take("folder", () => Promise.resolve(given.push("folder")));
    await expect(held.release("container")).rejects.toThrow("docker rm failed");
    await held.releaseAll();
    expect(given).toEqual(["folder", "lock"]);
  });

  it("refuses to take the same thing twice", () => {
    const held = new Held();
    held.take("log", () => Promise.resolve());
    expect(() => held.take("log", () => Promise.resolve())).toThrow(/already held/);
  });

  it("gives one back the moment the signal fires, while the work still runs, and a signalled run waits for it", async () => {
    const given: string[] = [];
    const held = new Held();
    let removed!: () => void;
    held.take("container", () => new Promise<void>((res) => (removed = res)).then(() => void given.push("container")));
    const abort = new AbortController();
    let finish!: () => void;
    const work = held.releasingOnAbort(abort.signal, "container", () => new Promise<string>((res) => (finish = () => res("made"))));
    abort.abort();
    // The removal started while the work had not ended, and counts as teardown.
    let settled = false;
    const waiting = teardownSettled(10_000).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    removed();
    await waiting;
    expect(given).toEqual(["container"]);
    finish();
    expect(await work).toBe("made");
    await held.releaseAll();
    expect(given).toEqual(["container"]);
  });

  it("does not give back on a signal that fires after the work ended", async () => {
    const given: string[] = [];
    const held = new Held();
    held.take("container", () => Promise.resolve(given.push("container")));
    const abort = new AbortController();
    await held.releasingOnAbort(abort.signal, "container", () => Promise.resolve());
    abort.abort();
    expect(given).toEqual([]);
  });
});
