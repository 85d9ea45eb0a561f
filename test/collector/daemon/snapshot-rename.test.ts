// A snapshot source renamed in the config (the same command or file, another name) goes on with the
// state the old name left: the holders it had open keep their sessions, nothing is billed twice.
// Read as a new source, its first poll checked every listed holder out again at its stated start
// (lmstat's `start Mon 11/23 9:12`), while the old state had billed them up to its last poll: each
// holder open at the rename was billed twice for its whole past, and the old sessions never ended.
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageData } from "../../../shared/protocol/index.ts";
import { sourceOrigin } from "../../../collector/daemon/run-config.ts";
import { polledBefore, takeOver } from "../../../collector/daemon/snapshot-takeover.ts";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { freePort } from "../../support/local-edge.ts";
import { cli, enrolledState, logRecords, runOnce } from "../cli/cli-io.ts";
import { billed, overlaps, takenAt, TRUTH, WEEK } from "./lmstat-week.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-snapshot-rename-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));


/** The sessions in the log: `user session-id` once each, in order. */
async function sessions(state: string): Promise<string[]> {
  const seen = new Set<string>();
  for (const r of await logRecords(state)) if (r.kind === "usage") seen.add(`${(r.data as UsageData).user} ${(r.data as UsageData).session}`);
  return [...seen];
}

interface Site { state: string; output: string; poll: (i: number, ...sources: Array<Record<string, unknown>>) => ReturnType<typeof cli> }

/** A site whose lmstat output file `output` is rewritten at each poll (WEEK[i]), read by `sources`. */
async function site(name: string): Promise<Site> {
  const state = join(dir, name);
  await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
  const output = join(dir, `${name}.txt`);
  const config = join(dir, `${name}.json`);
  const poll = async (i: number, ...sources: Array<Record<string, unknown>>) => {
    await writeFile(output, WEEK[i]!);
    const at = takenAt(i);
    await utimes(output, at, at); // written when it says it was taken
    await writeFile(config, JSON.stringify({ sources: sources.map((s) => ({ kind: "flexlm-lmstat", timezone: "UTC", ...s })), cut_s: 86_400 }));
    return runOnce(config, state);
  };
  return { state, output, poll };
}

describe("a snapshot source renamed in the config", () => {
  it("goes on with the old name's state: the holders open at the rename are not billed again from their start", async () => {
    const { state, output, poll } = await site("file");
    for (const i of [0, 1]) expect((await poll(i, { name: "lmstat", file: output })).status).toBe(0);
    const before = await billed(state);
    expect(before).toEqual({ ann: expect.any(Number), bob: expect.any(Number) });

    const renamed = await poll(2, { name: "flexlm", file: output });
    expect(renamed.status).toBe(0);
    expect((await poll(3, { name: "flexlm", file: output })).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);
    expect(await overlaps(state)).toEqual([]);
    expect(renamed.stderr).toContain("source flexlm goes on with the state of source lmstat, which polled the same file");
    // ann's session goes on under its id; bob's ends where it was last seen.
    expect((await sessions(state)).map((s) => s.split(" ")[0])).toEqual(["ann", "bob", "cy"]);
    expect((await readdir(join(state, "sources"))).filter((f) => f.startsWith("lmstat"))).toEqual([]); // taken over, appendix and all
    const status = await cli(["status", "--state", state, "--json"]);
    const usage = (await logRecords(state)).filter((r) => r.kind === "usage").length;
    expect(status.json?.sources).toEqual([expect.objectContaining({ source: "flexlm", up: true, last_error: null, totals: expect.objectContaining({ records: usage }) })]);
  });


  it("the old name given back takes its state back: still nothing twice", async () => {
    const { state, output, poll } = await site("back");
    await poll(0, { name: "lmstat", file: output });
    expect((await poll(1, { name: "flexlm", file: output })).stderr).toContain("source flexlm goes on with the state of source lmstat");
    expect((await poll(2, { name: "lmstat", file: output })).stderr).toContain("source lmstat goes on with the state of source flexlm");
    await poll(3, { name: "lmstat", file: output });
    expect(await billed(state)).toEqual(TRUTH);
    expect((await sessions(state)).map((s) => s.split(" ")[0])).toEqual(["ann", "bob", "cy"]);
  });

  it("a command renamed goes on alike: its argv is what it polled", async () => {
    const { state, output, poll } = await site("command");
    // (A command's output is taken now, whatever it states: the figures are not the week's.)
    await poll(0, { name: "lmstat", command: ["cat", output] });
    expect((await poll(1, { name: "flexlm", command: ["cat", output] })).stderr).toContain("source flexlm goes on with the state of source lmstat, which polled the same command");
    expect(await overlaps(state)).toEqual([]);
    expect((await sessions(state)).map((s) => s.split(" ")[0])).toEqual(["ann", "bob"]);
  });

  it("another command, or the state of a source still in the config, is not taken: each starts afresh", async () => {
    const { state, output, poll } = await site("other");
    await poll(0, { name: "lmstat", command: ["cat", output] });
    // Another argv (as another server's lmstat would be) is another source: its holders are its own.
    const other = await poll(1, { name: "lic2", command: ["cat", "--", output] });
    expect(other.stderr).not.toContain("goes on with the state");
    // lmstat, still configured (polling otherwise now), keeps its state; lic1 polls what it did, afresh.
    // (lic1 first: read before lmstat's next state records what lmstat polls now.)
    const kept = await poll(2, { name: "lic1", command: ["cat", output] }, { name: "lmstat", command: ["cat", "--", output] });
    expect(kept.stderr).not.toContain("goes on with the state");
    expect(await readdir(join(state, "sources"))).toEqual(expect.arrayContaining(["lic1.json", "lic2.json", "lmstat.json"]));
    expect((await sessions(state)).filter((s) => s.startsWith("ann"))).toHaveLength(3); // one per state
  });

  it("a take-over cut short after its first write (the state rewritten whole, not yet renamed) is made again", async () => {
    const { state, output, poll } = await site("crash");
    for (const i of [0, 1]) await poll(i, { name: "lmstat", file: output });
    expect(await readdir(join(state, "sources"))).toEqual(["lmstat.1.jsonl", "lmstat.json"]); // an appendix to rewrite
    const opened = await openSite(statePaths(state));
    try {
      const found = await polledBefore(state, "flexlm-lmstat", sourceOrigin({ file: output }), new Set(["flexlm"]));
      expect(found?.name).toBe("lmstat");
      // A rename into a folder that is not there fails where a crash between the two writes would stop.
      await expect(takeOver(opened, found!, "gone/flexlm")).rejects.toThrow(/ENOENT/);
    } finally {
      await opened.close();
    }
    expect(await readdir(join(state, "sources"))).toEqual(["lmstat.json"]); // whole, under the old name
    for (const i of [2, 3]) await poll(i, { name: "flexlm", file: output });
    expect(await billed(state)).toEqual(TRUTH);
  });

  it("a state written before snapshot states kept what they polled is not known: the renamed source starts afresh", async () => {
    const { state, output, poll } = await site("older");
    await poll(0, { name: "lmstat", file: output });
    const path = join(state, "sources", "lmstat.json");
    const file = JSON.parse(await readFile(path, "utf8")) as { committed?: { polls?: string }; pending?: { state: { polls?: string } } };
    delete file.committed?.polls;
    delete file.pending?.state.polls;
    await writeFile(path, JSON.stringify(file));
    expect((await poll(1, { name: "flexlm", file: output })).stderr).not.toContain("goes on with the state");
    expect(await readdir(join(state, "sources"))).toContain("lmstat.json");
  });

  it("renamed with other settings, it fails (settings_changed) and moves nothing until they are given back", async () => {
    const { state, output, poll } = await site("settings");
    await poll(0, { name: "lmstat", file: output });
    const other = await poll(1, { name: "flexlm", file: output, encoding: "latin1" });
    expect(other.stderr).toContain("source flexlm was read with other settings than the config now gives (encoding utf-8 → latin1)");
    expect(await readdir(join(state, "sources"))).toContain("lmstat.json");
    expect((await poll(1, { name: "flexlm", file: output })).stderr).toContain("source flexlm goes on with the state of source lmstat");
  });
});
