// A source's read state and the log agree whatever happened between writing the state and the
// append (daemon/source-journal.ts): the state file says "pending: records from_seq…", and the
// log, by hash, says whether they are there — all, none, or the first few of a batch a crash cut
// short (then forgotten, and read again).
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payloadsOf } from "../../../collector/chain/record-writer.ts";
import { SourceJournal } from "../../../collector/daemon/source-journal.ts";
import { openSite, type Site } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import type { RecordBody } from "../../../collector/sessions/records.ts";
import { parseStrictJson, sha256Hex, type ChainRecord } from "../../../shared/protocol/index.ts";
import { enrolledState } from "../cli/cli-io.ts";

interface S { offset: number }

let dir: string;
let n = 0;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-journal-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

const usage = (i: number): RecordBody => ({ kind: "usage", data: { source: "s", daemon: "MLM", feature: "F", user: "u", host: "h", session: `s${i}`, start: i * 1000, end: i * 1000 + 1000, count: 1, final: true } });

async function freshSite(): Promise<{ state: string; site: Site; path: string }> {
  const state = join(dir, `site-${n++}`);
  await enrolledState(state);
  const site = await openSite(statePaths(state));
  return { state, site, path: join(state, "sources", "s.json") };
}

/** The journal file as it stands after step 2 of an append (pending written), for `bodies`. */
async function writePending(site: Site, path: string, committed: S, next: S, bodies: RecordBody[]) {
  const prepared = site.writer.prepare(bodies as never);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, JSON.stringify({ format: "tally-source-state/v1", committed, pending: { state: next, from_seq: prepared.firstSeq, count: prepared.count, first_hash: prepared.firstHash, last_hash: prepared.lastHash } }));
  return prepared;
}

describe("source journal", () => {
  it("an append that goes through moves the state with the records", async () => {
    const { site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    expect(journal.committed()).toBeUndefined();
    await journal.append({ offset: 10 }, [usage(1), usage(2)]);
    await journal.save({ offset: 20 });
    expect(site.log.lastSeq()).toBe(2);
    expect((await SourceJournal.open<S>(site, path)).journal.committed()).toEqual({ offset: 20 });
    await site.close();
  });

  it("crash after the state, before the append: the committed state holds, nothing was appended", async () => {
    const { state, site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)]);
    await writePending(site, path, { offset: 10 }, { offset: 30 }, [usage(2), usage(3)]);
    await site.close();
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_not_appended" });
    expect(reopened.log.lastSeq()).toBe(1);
    expect((await SourceJournal.open<S>(reopened, path)).journal.committed()).toEqual({ offset: 10 });
    await reopened.close();
  });

  it("crash after the append, before anything else: the pending state holds", async () => {
    const { state, site, path } = await freshSite();
    await writePending(site, path, { offset: 0 }, { offset: 30 }, [usage(2), usage(3)]).then((p) => site.writer.commit(p));
    await site.close();
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_appended" });
    expect(reopened.log.lastSeq()).toBe(2);
    expect((await SourceJournal.open<S>(reopened, path)).journal.committed()).toEqual({ offset: 30 });
    await reopened.close();
  });

  it("a crash cut the batch short: the part in the log is forgotten, the state goes back, the chain goes on from before it", async () => {
    const { state, site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)]);
    const prepared = await writePending(site, path, { offset: 10 }, { offset: 50 }, [usage(2), usage(3), usage(4), usage(5)]);
    await site.log.append(payloadsOf(prepared).slice(0, 2)); // the first two frames survived the crash
    await site.close();
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_cut_short" });
    expect(reopened.log.lastSeq()).toBe(1);
    const again = (await SourceJournal.open<S>(reopened, path)).journal;
    expect(again.committed()).toEqual({ offset: 10 });
    await again.append({ offset: 50 }, [usage(2), usage(3), usage(4), usage(5)]);
    const records = (await reopened.log.read(1, { maxCount: 10 })).map((e) => ({ hash: sha256Hex(e.payload), record: parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord }));
    expect(records.map((r) => r.record.seq)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < records.length; i++) expect(records[i]!.record.prev).toBe(records[i - 1]!.hash);
    await reopened.close();
  });

  it("a failed append (rolled back) whose place another record took later: the committed state holds", async () => {
    const { state, site, path } = await freshSite();
    await writePending(site, path, { offset: 0 }, { offset: 30 }, [usage(2)]);
    await site.append([{ kind: "heartbeat", data: { sources: [] } }] as never);
    await site.close();
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_not_appended" });
    expect(reopened.log.lastSeq()).toBe(1);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v2", committed: { offset: 0 } });
    await reopened.close();
  });

  it("written behind: the next step is prepared while the one before is written; each state is in the file, pending, before its records are appended", async () => {
    const { site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)]);
    // What the file says at the moment each batch goes to the log.
    const seen: unknown[] = [];
    const commit = site.writer.commit.bind(site.writer);
    site.writer.commit = (prepared) => {
      seen.push(JSON.parse(readFileSync(path, "utf8")));
      return commit(prepared);
    };
    const next = { offset: 20 };
    await journal.begin(next, [usage(2), usage(3)]);
    next.offset = 999; // serialised at begin: a later change of the caller's object is not written
    await journal.begin({ offset: 30 }, [usage(4)]); // prepared on the head step 2 will leave
    await journal.begin({ offset: 40 }, []);
    await journal.durable();
    expect(site.log.lastSeq()).toBe(4);
    const [a, b] = (await site.log.read(3, { maxCount: 2 })).map((e) => ({ hash: sha256Hex(e.payload), record: parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord }));
    expect(b!.record.prev).toBe(a!.hash);
    expect(seen).toEqual([
      { format: "tally-source-state/v2", committed: { offset: 10 }, pending: { state: { offset: 20 }, from_seq: 2, count: 2, first_hash: expect.any(String), last_hash: a!.hash } },
      { format: "tally-source-state/v2", committed: { offset: 20 }, pending: { state: { offset: 30 }, from_seq: 4, count: 1, first_hash: b!.hash, last_hash: b!.hash } },
    ]);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v2", committed: { offset: 40 } });
    await site.close();
  });

  it("written behind: a step whose append fails fails the next step too — nothing of either is appended and the state stays the one before", async () => {
    const { state, site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)]);
    await journal.begin({ offset: 20 }, [usage(2)]);
    const closed = site.log.close(); // queued before the step's append: the log refuses it (log_closed)
    await expect(journal.begin({ offset: 30 }, [usage(3)])).rejects.toMatchObject({ code: "log_closed" });
    await expect(journal.durable()).rejects.toMatchObject({ code: "log_closed" });
    await closed;
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v2", committed: { offset: 10 } });
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({});
    expect(reopened.log.lastSeq()).toBe(1);
    expect((await SourceJournal.open<S>(reopened, path)).journal.committed()).toEqual({ offset: 10 });
    await reopened.close();
  });
});

describe("source journal: a part of the state kept apart (state-appendix.ts)", () => {
  const change = (added: unknown[] | null, table: unknown[] = []) => ({ added, table: () => table });
  const appendixOf = (path: string, name: string) => readFile(join(path, "..", name), "utf8");

  it("each step appends what it added; the state file names how much of the appendix is its own", async () => {
    const { site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    expect(await journal.committedAppendix()).toBeUndefined();
    await journal.append({ offset: 10 }, [usage(1)], change(null, ["k", 1])); // nothing logged before: the whole table
    await journal.append({ offset: 20 }, [usage(2)], change(["k", 2]));
    await journal.append({ offset: 25 }, [], change([])); // nothing added: nothing written
    expect(await appendixOf(path, "s.1.jsonl")).toBe('["k",1]\n["k",2]\n');
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v2", committed: { offset: 25 }, committed_appendix: { file: "s.1.jsonl", bytes: 16 } });
    const reopened = (await SourceJournal.open<S>(site, path)).journal;
    expect(reopened.committed()).toEqual({ offset: 25 });
    expect(await reopened.committedAppendix()).toBe('["k",1]\n["k",2]\n');
    // A whole state again (no part apart): the appendix goes once no state file names it.
    await reopened.append({ offset: 30 }, [], undefined);
    await expect(appendixOf(path, "s.1.jsonl")).rejects.toMatchObject({ code: "ENOENT" });
    await site.close();
  });

  it("a crash after the appendix and the state, before the records: the committed state's part holds, and the next step writes over what the crashed one added", async () => {
    const { state, site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)], change(null, ["k", 1]));
    let crashed: string | undefined;
    site.writer.commit = () => { // the process dies here: the state file says pending, the records never reach the log
      crashed = readFileSync(path, "utf8");
      return Promise.reject(new Error("killed"));
    };
    await expect(journal.append({ offset: 20 }, [usage(2)], change(["k", 2]))).rejects.toThrow("killed");
    await site.close();
    await writeFile(path, crashed!);
    expect(await appendixOf(path, "s.1.jsonl")).toBe('["k",1]\n["k",2]\n');
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_not_appended" });
    const { journal: again } = await SourceJournal.open<S>(reopened, path);
    expect(again.committed()).toEqual({ offset: 10 });
    expect(await again.committedAppendix()).toBe('["k",1]\n');
    await again.append({ offset: 20 }, [usage(2)], change(["k", 3]));
    expect(await appendixOf(path, "s.1.jsonl")).toBe('["k",1]\n["k",3]\n');
    expect(await (await SourceJournal.open<S>(reopened, path)).journal.committedAppendix()).toBe('["k",1]\n["k",3]\n');
    await reopened.close();
  });

  it("a crash after the records, before the state moved on: the pending state holds, with its part", async () => {
    const { state, site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)], change(null, ["k", 1]));
    let crashed: string | undefined;
    const commit = site.writer.commit.bind(site.writer);
    site.writer.commit = (prepared) => {
      crashed = readFileSync(path, "utf8");
      return commit(prepared);
    };
    await journal.append({ offset: 20 }, [usage(2)], change(["k", 2]));
    await site.close();
    await writeFile(path, crashed!);
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({ s: "pending_appended" });
    const { journal: again } = await SourceJournal.open<S>(reopened, path);
    expect(again.committed()).toEqual({ offset: 20 });
    expect(await again.committedAppendix()).toBe('["k",1]\n["k",2]\n');
    await reopened.close();
  });

  it("an appendix grown to several times its first line starts a new generation with the whole part; the old one goes once no state names it", async () => {
    const { site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    const batch = (i: number) => Array.from({ length: 20_000 }, (_, j) => (j % 2 === 0 ? `user-${i}-${j}@host` : 1_704_067_200 + j));
    await journal.append({ offset: 0 }, [usage(0)], change(null, ["t", 0]));
    let steps = 0;
    while (!(await readdir(join(path, ".."))).includes("s.2.jsonl") && steps < 20) await journal.append({ offset: ++steps }, [usage(steps)], change(batch(steps), ["whole", steps]));
    // Each step adds ~280 KB: past 1 MiB (4× a tiny first line is less) the next step starts generation 2.
    expect(steps).toBeGreaterThanOrEqual(4);
    expect(steps).toBeLessThanOrEqual(6);
    // The state file of that step named generation 1 still (committed) beside 2 (pending); the next one names only 2.
    expect((await readdir(join(path, ".."))).sort()).toEqual(["s.1.jsonl", "s.2.jsonl", "s.json"]);
    await journal.append({ offset: steps + 1 }, [usage(steps + 1)], change(batch(steps + 1)));
    expect((await readdir(join(path, ".."))).sort()).toEqual(["s.2.jsonl", "s.json"]);
    const { journal: reopened } = await SourceJournal.open<S>(site, path);
    expect(await reopened.committedAppendix()).toBe(`["whole",${steps}]\n${JSON.stringify(batch(steps + 1))}\n`);
    await site.close();
  });

  it("an appendix shorter than its state says is refused (bad_state), not read as a smaller part", async () => {
    const { site, path } = await freshSite();
    const { journal } = await SourceJournal.open<S>(site, path);
    await journal.append({ offset: 10 }, [usage(1)], change(null, ["k", 1, "k", 2]));
    await writeFile(join(path, "..", "s.1.jsonl"), '["k",1]\n');
    await expect(SourceJournal.open<S>(site, path)).rejects.toMatchObject({ code: "bad_state" });
    await site.close();
  });
});
