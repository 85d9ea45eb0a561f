// A snapshot source's saved outputs imported by `backfill --name N` and its live polls by `run`'s
// source N go on with one tracker, whichever comes first: the holders open at the change are billed
// once. Before, each started afresh from the other — the daemon's first poll checked every listed
// holder out again at its stated start, which the backfill had billed up to its last saved output
// (under the same session ids: the edge rates both intervals), and an output backfilled after `run`
// had polled did the same the other way.
import { mkdtemp, readdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/local-edge.ts";
import { cli, enrolledState, runOnce } from "../cli/cli-io.ts";
import { billed, H, lmstat, overlaps, takenAt, TRUTH, usage, WEEK } from "./lmstat-week.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-snapshot-backfill-run-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Where the last interval billed of `user` ends (ISO): the daemon bills an open session on at each
 *  cut (`cut_s` a day here), backfill up to the output's time. */
async function billedTo(state: string, user: string): Promise<string> {
  return new Date(Math.max(...(await usage(state)).filter((d) => d.user === user).map((d) => d.end))).toISOString();
}

/** The sessions in the log, `user` once per session id, in order. */
async function sessions(state: string): Promise<string[]> {
  const seen = new Map<string, string>();
  for (const d of await usage(state)) seen.set(d.session, d.user);
  return [...seen.values()];
}

interface Site {
  state: string;
  /** `run --once` of source `name` polling the server's output file, rewritten as output i. */
  poll: (i: number, name?: string, extra?: Record<string, unknown>) => ReturnType<typeof cli>;
  /** `backfill` of output i saved by cron (a file of its own). */
  backfill: (i: number, ...args: string[]) => ReturnType<typeof cli>;
}

/** A site reading `outputs` of `kind`, output i taken at `at(i)` (seconds; lmstat's: the time it states). */
async function site(name: string, outputs = WEEK, kind = "flexlm-lmstat", at = (i: number) => takenAt(i, outputs)): Promise<Site> {
  const state = join(dir, name);
  await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
  const output = join(dir, `${name}.txt`);
  const config = join(dir, `${name}.json`);
  const write = async (file: string, i: number) => {
    await writeFile(file, outputs[i]!);
    await utimes(file, at(i), at(i)); // written when it was taken
  };
  return {
    state,
    poll: async (i, source = "lmstat", extra = {}) => {
      await write(output, i);
      await writeFile(config, JSON.stringify({ sources: [{ name: source, kind, timezone: "UTC", file: output, ...extra }], cut_s: 86_400 }));
      return runOnce(config, state);
    },
    backfill: async (i, ...args) => {
      const saved = join(dir, `${name}-saved-${i}.txt`);
      await write(saved, i);
      return cli(["backfill", "--source", kind, "--file", saved, "--timezone", "UTC", "--cut", "86400", "--state", state, "--json", ...args]);
    },
  };
}

/** `outputs` read three ways, each into a site of its own: `run` polling each, `backfill --name lmstat`
 *  of each, and `run` going on from a backfill of the first `backfilled`. */
async function threeWays(name: string, outputs: string[], backfilled: number): Promise<[Site, Site, Site]> {
  const ways = [await site(`${name}-run`, outputs), await site(`${name}-backfill`, outputs), await site(`${name}-both`, outputs)] as const;
  for (let i = 0; i < outputs.length; i++) {
    expect((await ways[0].poll(i)).status).toBe(0);
    expect((await ways[1].backfill(i, "--name", "lmstat")).status).toBe(0);
    expect((i < backfilled ? await ways[2].backfill(i, "--name", "lmstat") : await ways[2].poll(i)).status).toBe(0);
  }
  return [...ways];
}

/** Each way billed `truth`, nothing twice, under the same session ids: the ids. */
async function billedAlike(ways: Site[], truth: Record<string, number>): Promise<string[]> {
  const ids: string[][] = [];
  for (const { state } of ways) {
    expect(await billed(state), state).toEqual(truth);
    expect(await overlaps(state), state).toEqual([]);
    ids.push([...new Set((await usage(state)).map((d) => d.session))]);
  }
  for (const other of ids.slice(1)) expect(other).toEqual(ids[0]);
  return ids[0]!;
}

describe("a snapshot source's backfill and its polls", () => {
  it("run after a backfill under the source's name goes on with it: the holders open at the last saved output are billed once", async () => {
    const { state, poll, backfill } = await site("after-backfill");
    for (const i of [0, 1]) expect((await backfill(i, "--name", "lmstat")).status).toBe(0);
    const first = await poll(2);
    expect(first.status).toBe(0);
    expect(first.stderr).toContain("source lmstat goes on with the state of backfill --name lmstat (its saved outputs, the last taken at 2026-12-01T09:00:00.000Z)");
    expect(await billedTo(state, "ann")).toBe("2026-12-02T00:00:00.000Z"); // her session goes on with the polls, not only once it ends
    expect((await poll(3)).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);
    expect(await overlaps(state)).toEqual([]);
    expect(await sessions(state)).toEqual(["ann", "bob", "cy"]); // ann's session goes on under its id
    expect(await readdir(join(state, "sources"))).toEqual(["lmstat.1.jsonl", "lmstat.json"]); // taken over, one state
    const status = await cli(["status", "--state", state, "--json"]);
    expect(status.json?.sources).toEqual([expect.objectContaining({ source: "lmstat", up: true, last_error: null, totals: expect.objectContaining({ records: (await usage(state)).length }) })]);
  });

  it("backfill's default name is the kind: a source of that name goes on alike", async () => {
    const { state, poll, backfill } = await site("default-name");
    for (const i of [0, 1]) expect((await backfill(i)).status).toBe(0);
    for (const i of [2, 3]) expect((await poll(i, "flexlm-lmstat")).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);
  });

  it("run under another name than the backfill's goes on with it when its first poll lists a holder the backfill has open; another server's backfill is not taken", async () => {
    const { state, poll, backfill } = await site("renamed");
    // Another server's history (a name read before the default one), its last output still listing dan: not this source's.
    const other = join(dir, "renamed-aix9.txt");
    await writeFile(other, lmstat("Tue", "12/1/2026 09:00", ["dan pc9 201 Tue 12/1 8:00"]));
    expect((await cli(["backfill", "--source", "flexlm-lmstat", "--file", other, "--name", "aix9", "--timezone", "UTC", "--cut", "86400", "--state", state])).status).toBe(0);
    for (const i of [0, 1]) expect((await backfill(i)).status).toBe(0); // as flexlm-lmstat, the default
    const first = await poll(2, "lmstat");
    expect(first.stderr).toContain("source lmstat goes on with the state of backfill --name flexlm-lmstat (its saved outputs, the last taken at 2026-12-01T09:00:00.000Z, whose open holders its first poll lists)");
    expect((await poll(3, "lmstat")).status).toBe(0);
    expect(await billed(state)).toEqual({ ...TRUTH, dan: H });
    expect(await overlaps(state)).toEqual([]);
    expect(await sessions(state)).toEqual(["dan", "ann", "bob", "cy"]);
    expect((await readdir(join(state, "sources"))).filter((f) => f.endsWith(".json"))).toEqual(["aix9@snapshots.json", "lmstat.json"]);
  });

  it("an output saved while run was stopped, backfilled under the source's name, goes on from its last poll; outputs before it are refused", async () => {
    const { state, poll, backfill } = await site("gap");
    for (const i of [0, 1]) expect((await poll(i)).status).toBe(0);
    const gap = await backfill(2, "--name", "lmstat");
    expect(gap.status).toBe(0);
    expect(gap.json).toMatchObject({ name: "lmstat", appended: expect.any(Number), time_from: "header" });
    expect(await billedTo(state, "ann")).toBe("2026-12-02T09:00:00.000Z");
    expect((await backfill(2, "--name", "lmstat")).json).toMatchObject({ already_imported: true, appended: 0 });
    const older = await backfill(0, "--name", "lmstat");
    expect(older.status).not.toBe(0);
    expect(older.stderr).toContain("before source lmstat's last poll or output imported (2026-12-02T09:00:00.000Z), which billed that time");
    expect((await poll(3)).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);
    expect(await overlaps(state)).toEqual([]);
    expect(await sessions(state)).toEqual(["ann", "bob", "cy"]);
    expect((await readdir(join(state, "sources"))).filter((f) => f.includes("@"))).toEqual([]); // one state: the source's
  });

  it("an output that lists nothing (an empty file), backfilled under the name of a source run polls, appends nothing and is not refused as older", async () => {
    // Before, its time (none: -Infinity) was found older than the last poll, and the refusal's
    // message failed on it: an internal error, exit 1.
    const { state, poll } = await site("polled-lists-nothing");
    for (const i of [0, 1]) expect((await poll(i)).status).toBe(0);
    const before = (await usage(state)).length;
    const empty = join(dir, "polled-lists-nothing-empty.txt");
    await writeFile(empty, "");
    const r = await cli(["backfill", "--source", "flexlm-lmstat", "--file", empty, "--timezone", "UTC", "--cut", "86400", "--name", "lmstat", "--state", state, "--json"]);
    expect(r.stderr).not.toContain("internal error");
    expect([r.status, r.json?.appended]).toEqual([0, 0]);
    expect((await usage(state)).length).toBe(before);
    expect((await poll(2)).status).toBe(0);
    expect((await poll(3)).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);
  });

  it("an output of a server another name has open is refused, naming it: under a second name its holders were billed again", async () => {
    const { state, poll, backfill } = await site("other-name");
    for (const i of [0, 1]) expect((await poll(i)).status).toBe(0);
    const other = await backfill(2); // backfill's default name, flexlm-lmstat
    expect(other.status).toBe(2);
    expect(other.stderr).toContain("lists ann on pc1 holding MATLAB since 2026-11-23T09:12:00.000Z (handle lic1/27000 101), whom source lmstat, which run polls, has open");
    expect(other.stderr).toContain("Import them with --name lmstat");
    expect((await backfill(2, "--name", "lmstat")).status).toBe(0);
    expect((await poll(3)).status).toBe(0);
    expect(await billed(state)).toEqual(TRUTH);

    const saved = await site("other-backfill");
    expect((await saved.backfill(0, "--name", "lic1")).status).toBe(0);
    const second = await saved.backfill(1, "--name", "lic2");
    expect(second.stderr).toContain("whom backfill --name lic1 has open");
    expect(await billed(saved.state)).toEqual({ ann: expect.any(Number), bob: 3600 }); // nothing of lic2's
  });

  for (const next of ["run", "backfill"] as const) {
    it(`a take-over cut short before the first poll's write (the backfill's state under the source's name): ${next} goes on with it`, async () => {
      const { state, poll, backfill } = await site(`crash-${next}`);
      for (const i of [0, 1]) await backfill(i, "--name", "lmstat");
      // The rename is the take-over's one write: a crash right after it leaves the backfill's state as the source's.
      await rename(join(state, "sources", "lmstat@snapshots.json"), join(state, "sources", "lmstat.json"));
      expect((next === "run" ? await poll(2) : await backfill(2, "--name", "lmstat")).status).toBe(0);
      expect(await billedTo(state, "ann")).toBe(next === "run" ? "2026-12-02T00:00:00.000Z" : "2026-12-02T09:00:00.000Z");
      expect((await poll(3)).status).toBe(0);
      expect(await billed(state)).toEqual(TRUTH);
      expect(await overlaps(state)).toEqual([]);
    });
  }

  it("two identical lines (no handle: one user's two windows) are two licenses whichever reads them: run, backfill, or run going on from a backfill", async () => {
    // Before, backfill (and parse) billed them as one session: 776,880 license-seconds of 1,467,360.
    const two = ["ann pc1 - Mon 11/23 9:12", "ann pc1 - Mon 11/23 9:12"];
    const outputs = [lmstat("Mon", "11/30/2026 09:00", two), lmstat("Tue", "12/1/2026 09:00", two), lmstat("Wed", "12/2/2026 09:00", two.slice(1)), lmstat("Wed", "12/2/2026 10:00", [])];
    const truth = { ann: (7 * 24 + 23) * H + 48 * 60 + (8 * 24 + 23) * H + 48 * 60 }; // one to Tue 9:00, one to Wed 9:00
    const [polled, backfilled, both] = await threeWays("identical", outputs, 2);
    for (const { state } of [polled, backfilled, both]) {
      expect(await billed(state), state).toEqual(truth);
      expect(await sessions(state), state).toEqual(["ann", "ann"]);
    }
  });

  it("a holder one output left out, listed again with its handle and start, is billed throughout, whichever reads it: run, backfill, or run going on from a backfill", async () => {
    // The daemon's diff goes on where she was last seen (snapshot-diff.ts). Backfill (and parse)
    // checked her out again at the output that left her out: 690,480 license-seconds of 776,880.
    const ann = ["ann pc1 101 Mon 11/23 9:12"];
    const outputs = [lmstat("Mon", "11/30/2026 09:00", ann), lmstat("Tue", "12/1/2026 09:00", []), lmstat("Wed", "12/2/2026 09:00", ann), lmstat("Wed", "12/2/2026 10:00", [])];
    const truth = { ann: 8 * 24 * H + 23 * H + 48 * 60 }; // Mon 11/23 9:12 to Wed 12/2 9:00
    const ids = await billedAlike(await threeWays("left-out", outputs, 2), truth);
    expect(ids).toHaveLength(1); // one session: listed again, it goes on (before: two, each with its own minimum or draw)
  });

  it("a line whose count grew (the same handle and start) is billed at the old count up to the output that shows the new one, whichever reads it", async () => {
    // Before, run checked the new count out at the output before it (the increase billed a day early:
    // 949,680), and backfill (and parse) kept the first count to the end (776,880).
    const ann = (count: number) => lmstat("Mon", "11/30/2026 09:00", ["ann pc1 101 Mon 11/23 9:12"]).replace("9:12\n", count > 1 ? `9:12, ${count} licenses\n` : "9:12\n");
    const at = (day: string, date: string, text: string) => text.replace("on Mon 11/30/2026 09:00", `on ${day} ${date}`);
    const outputs = [ann(1), at("Tue", "12/1/2026 09:00", ann(2)), at("Wed", "12/2/2026 09:00", ann(2)), lmstat("Wed", "12/2/2026 10:00", [])];
    const truth = { ann: (7 * 24 + 23) * H + 48 * 60 + 2 * 24 * H }; // one to Tue 9:00, two from then to Wed 9:00
    await billedAlike(await threeWays("recount", outputs, 1), truth);
  });

  it("RLM handles sharing one license, merged in the backfill, go on as one license when run lists them apart", async () => {
    // ann's two handles of one start, where the pool counts one license in use, are one holder
    // (rlm-rlmstat.ts sharedAsOne); once one handle is gone, the other is listed on its own. Run
    // continued that holder without its group (asPolled), so the lone handle was checked out again at
    // its stated start: her week billed twice.
    const rlmstat = (inUse: number, handles: string[]) => [
      "rlmutil v14.2", "", "\trlm status on lic9 (port 5053), up 12d 02:10:05", "\trlm software version v14.2 (build:1)", "",
      "\t--------- ISV servers ----------", "\t   Name           Port Running Restarts", "\t   acme          50811   Yes      0", "",
      "\tacme license pool status on lic9 (port 50811)", "", "\tsolver v2.0", `\t\tcount: 20, # reservations: 0, inuse: ${inUse}, exp: 31-dec-2030`,
      "\t\tobsolete: 0, min_remove: 120, total checkouts: 911", "", "\tacme license usage status on lic9 (port 50811)", "",
      ...handles.map((h) => `\tsolver v2.0: ann@pc1 1/0 at 11/23 09:12  (handle: ${h})`), "",
    ].join("\n");
    const outputs = [rlmstat(1, ["a1", "a2"]), rlmstat(1, ["a1", "a2"]), rlmstat(1, ["a1"]), rlmstat(0, [])];
    const times = ["2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z"].map((t) => Date.parse(t) / 1000);
    const { state, poll, backfill } = await site("rlm-shared", outputs, "rlm-rlmstat", (i) => times[i]!);
    for (const i of [0, 1]) expect((await backfill(i, "--name", "rlm")).status).toBe(0);
    for (const i of [2, 3]) expect((await poll(i, "rlm")).status).toBe(0);
    expect(await billed(state)).toEqual({ ann: 8 * 24 * H + 23 * H + 48 * 60 }); // one license, Mon 11/23 9:12 to Wed 12/2 9:00
    expect(await overlaps(state)).toEqual([]);
  });

  it("read with other settings than the backfill's, the source fails (settings_changed) and takes nothing", async () => {
    const { state, poll, backfill } = await site("settings");
    await backfill(0, "--name", "lmstat");
    const other = await poll(1, "lmstat", { encoding: "latin1" });
    expect(other.stderr).toContain("source lmstat was read with other settings than the config now gives (encoding utf-8 → latin1)");
    expect(await readdir(join(state, "sources"))).toContain("lmstat@snapshots.json");
    expect((await poll(1)).stderr).toContain("source lmstat goes on with the state of backfill --name lmstat");
  });
});
