// A source's read state and the log agree whatever happened between writing the state and the
// append (daemon/source-journal.ts): the state file says "pending: records from_seq…", and the
// log, by hash, says whether they are there — all, none, or the first few of a batch a crash cut
// short (then forgotten, and read again).
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v1", committed: { offset: 0 } });
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
      { format: "tally-source-state/v1", committed: { offset: 10 }, pending: { state: { offset: 20 }, from_seq: 2, count: 2, first_hash: expect.any(String), last_hash: a!.hash } },
      { format: "tally-source-state/v1", committed: { offset: 20 }, pending: { state: { offset: 30 }, from_seq: 4, count: 1, first_hash: b!.hash, last_hash: b!.hash } },
    ]);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v1", committed: { offset: 40 } });
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
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ format: "tally-source-state/v1", committed: { offset: 10 } });
    const reopened = await openSite(statePaths(state));
    expect(reopened.journals).toEqual({});
    expect(reopened.log.lastSeq()).toBe(1);
    expect((await SourceJournal.open<S>(reopened, path)).journal.committed()).toEqual({ offset: 10 });
    await reopened.close();
  });
});
