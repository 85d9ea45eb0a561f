// Resolving a fork whose old branch is long (a VM restored from a months-old snapshot): the resolve
// request and each alarm run move a bounded stretch of it (fork-resolution.ts), whatever its length;
// the new branch's batches sent meanwhile are counted once; a step that crashes is redone whole;
// and the end — figures, DO and D1 — is that of resolving at once. Cost is counted as SQLite's own
// rows read and written (`rowsRead`, `rowsWritten` on the DO's cursors), never as time.
import { describe, it, expect } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:test";
import { hashCanonical, type ChainRecord } from "../../shared/protocol/index.ts";
import { call, contractStub, enrolledSite, HOUR, NOW, ok, postBatch, SiteChain, type Site } from "./edge-fixture.ts";

const COMMON = 20, OLD = 780, NEW = 400, CHUNK = 50;

/** Counts the rows every statement of the DO's storage reads and writes, from now on. */
async function watchRows(site: Site): Promise<() => Promise<number>> {
  const cursors: Array<{ rowsRead: number; rowsWritten: number }> = [];
  await runInDurableObject(contractStub(site.contractId), (_i, state) => {
    const sql = state.storage.sql as unknown as { exec: (...a: unknown[]) => { rowsRead: number; rowsWritten: number } };
    const exec = sql.exec.bind(sql);
    sql.exec = (...a) => { const c = exec(...a); cursors.push(c); return c; };
  });
  return async () => {
    const n = cursors.reduce((sum, c) => sum + c.rowsRead + c.rowsWritten, 0);
    cursors.length = 0;
    return n;
  };
}

async function doFigures(site: Site) {
  return runInDurableObject(contractStub(site.contractId), (_i, state) => {
    const one = (q: string) => state.storage.sql.exec(q).one();
    return {
      job: state.storage.sql.exec("SELECT next_seq, to_seq FROM fork_jobs").toArray()[0] ?? null,
      records: one("SELECT count(*) AS n, max(seq) AS top FROM records"),
      superseded: one("SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM superseded_records"),
      buckets: state.storage.sql.exec("SELECT period, segment, feature, license_ms, billed_ms, units, pieces FROM usage_buckets ORDER BY 1, 2, 3").toArray(),
    };
  });
}

async function historySeqs(site: Site) {
  const page = (await runInDurableObject(contractStub(site.contractId), (instance) => instance.history(site.collectorId, 0)))!;
  return { replayable_from: page.replayable_from, hwm: page.hwm, seqs: page.batches.map((b) => b.checkpoint.seq) };
}

async function balanceOf(site: Site): Promise<any> {
  return ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
}

/** A session's intervals are close in seq (ten each); one spans the fork point, and the new branch
 * reuses the names (its counters restarted with the snapshot). */
const session = (i: number) => `s-${Math.floor((i + 5) / 10)}`;

async function forkedSite(): Promise<{ site: Site; branch: SiteChain }> {
  const site = await enrolledSite();
  for (let i = 0; i < COMMON + OLD; i++) site.chain.usage({ start: NOW - 60 * HOUR + (i % 50) * HOUR, session: session(i) });
  await ok(await postBatch(site.collectorId, site.chain.batch(1, COMMON + OLD)));
  const branch = new SiteChain(site.collectorId, site.keys.secretKey);
  branch.records.push(...site.chain.records.slice(0, COMMON));
  for (let i = 0; i < NEW; i++) branch.usage({ start: NOW - 40 * HOUR + (i % 30) * HOUR, session: session(COMMON + i), count: 2 });
  expect((await postBatch(site.collectorId, branch.batch(COMMON, COMMON + 30))).status).toBe(409);
  return { site, branch };
}

async function newBatch(site: Site, branch: SiteChain, from: number, to: number): Promise<void> {
  await ok(await postBatch(site.collectorId, branch.batch(from, to)));
  await holdAlarm(site);
}

/** Unschedules the DO's alarm: the test runs each alarm itself (`alarmRun`), so no real one races it. */
async function holdAlarm(site: Site): Promise<void> {
  await runInDurableObject(contractStub(site.contractId), (_i, state) => state.storage.deleteAlarm());
}

/** One alarm run, as the runtime would make it; the next it asks for is held (and answered: null for none). */
async function alarmRun(site: Site): Promise<number | null> {
  return runInDurableObject(contractStub(site.contractId), async (instance, state) => {
    await state.storage.deleteAlarm();
    await instance.alarm();
    const next = await state.storage.getAlarm();
    await state.storage.deleteAlarm();
    return next;
  });
}

/** Drains the outbox to D1 now (what the new batches queued), so a measured alarm run does the fork's work and its own. */
async function drainNow(site: Site): Promise<void> {
  await runInDurableObject(contractStub(site.contractId), (instance) => instance.benchmarkDrain());
}

/** Runs the alarm until no fork job and no outbox row is left. */
async function settleAll(site: Site): Promise<void> {
  for (let runs = 1; runs < 100; runs++) {
    await alarmRun(site);
    const left = await runInDurableObject(contractStub(site.contractId), (_i, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM fork_jobs) AS n").one().n);
    if (left === 0) return;
  }
  throw new Error("the alarm never settled");
}

async function d1History(site: Site) {
  const records = await env.DB.prepare("SELECT seq, hash FROM records WHERE collector_id = ? ORDER BY seq").bind(site.collectorId).all<{ seq: number; hash: string }>();
  const facts = await env.DB.prepare("SELECT seq, count, units_num FROM usage_facts WHERE collector_id = ? ORDER BY seq").bind(site.collectorId).all<{ seq: number; count: number; units_num: string }>();
  return { records: records.results.map((r) => [r.seq, r.hash]), facts: facts.results.map((f) => [f.seq, f.count, f.units_num]) };
}

describe("resolving a fork with a long old branch", () => {
  it("moves it in bounded steps, counts the new branch once, survives a crashed step, and ends as resolving at once", async () => {
    // The oracle: the same fork, resolved in one step (the branch fits the default step).
    const oracle = await forkedSite();
    const oracleRows = await watchRows(oracle.site);
    const atOnce = await ok(await call("POST", `/v1/collectors/${oracle.site.collectorId}/resolve`, { token: oracle.site.vendor.api_key, now: NOW + HOUR }));
    const atOnceRows = await oracleRows();
    expect(atOnce.superseded).toEqual({ from_seq: COMMON + 1, to_seq: COMMON + OLD, records: OLD });
    expect((await doFigures(oracle.site)).job).toBeNull();
    await newBatch(oracle.site, oracle.branch, COMMON + 1, COMMON + NEW);
    await settleAll(oracle.site);

    const { site, branch } = await forkedSite();
    await runInDurableObject(contractStub(site.contractId), (instance) => instance.setSupersedeChunk(CHUNK));
    const rows = await watchRows(site);
    const resolved = await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, now: NOW + HOUR }));
    await holdAlarm(site);
    const resolveRows = await rows();
    // Same answer; the request moved one step of CHUNK seqs, and read and wrote a bounded number of
    // rows (≈ 20 per seq moved), where resolving at once touched them all.
    expect(resolved).toEqual({ ...atOnce, collector_id: site.collectorId });
    expect((await doFigures(site)).job).toEqual({ next_seq: COMMON + CHUNK + 1, to_seq: COMMON + OLD });
    expect(resolveRows).toBeLessThan(25 * CHUNK + 400);
    expect(atOnceRows).toBeGreaterThan(12 * OLD);
    // The site's history is the chain up to its hwm: the old branch's checkpoints still waiting are not in it.
    expect(await historySeqs(site)).toEqual({ replayable_from: COMMON + 1, hwm: COMMON, seqs: [] });
    // Meanwhile the figures say the old branch is still being taken out.
    expect((await balanceOf(site)).rerating).toEqual({ done: CHUNK, total: OLD });
    await holdAlarm(site);

    // A new batch reaching past the job's next seq moves those old seqs first, in the batch's transaction.
    await newBatch(site, branch, COMMON + 1, COMMON + 100);
    expect((await doFigures(site)).job).toEqual({ next_seq: COMMON + 101, to_seq: COMMON + OLD });
    expect(await historySeqs(site)).toEqual({ replayable_from: COMMON + 1, hwm: COMMON + 100, seqs: [COMMON + 100] });

    // An alarm run moves at most 4 steps; a run whose first step crashes changes nothing and re-arms.
    await runInDurableObject(contractStub(site.contractId), (instance) => instance.armCrash("supersede_before_commit"));
    const before = await doFigures(site);
    const balanceBefore = await balanceOf(site);
    await holdAlarm(site);
    expect(await alarmRun(site)).not.toBeNull();
    expect(await doFigures(site)).toEqual(before);
    expect(await balanceOf(site)).toEqual(balanceBefore);
    await holdAlarm(site);
    const runRows: number[] = [];
    await drainNow(site);
    await rows();
    await alarmRun(site);
    runRows.push(await rows());
    expect((await doFigures(site)).job).toEqual({ next_seq: COMMON + 101 + 4 * CHUNK, to_seq: COMMON + OLD });

    // The new branch goes on between runs: a batch within what was moved, then one reaching past it.
    await newBatch(site, branch, COMMON + 101, COMMON + 250);
    await newBatch(site, branch, COMMON + 251, COMMON + 350);
    expect((await doFigures(site)).job).toEqual({ next_seq: COMMON + 351, to_seq: COMMON + OLD });
    for (let k = 0; k < 3 && (await doFigures(site)).job !== null; k++) {
      await drainNow(site);
      await rows();
      await alarmRun(site);
      runRows.push(await rows());
    }
    expect((await doFigures(site)).job).toBeNull();
    // Each run moved ≤ 4 steps (and drained what they queued): bounded by the step, not the branch.
    for (const n of runRows) expect(n).toBeLessThan(4 * 25 * CHUNK + 400);
    expect((await balanceOf(site)).rerating).toBeUndefined();
    await newBatch(site, branch, COMMON + 351, COMMON + NEW);
    await settleAll(site);

    // The end is the oracle's: figures, the DO's aggregates, the evidence, and D1's history.
    const [mine, theirs] = [await doFigures(site), await doFigures(oracle.site)];
    expect(mine).toEqual(theirs);
    expect(mine.records).toEqual({ n: COMMON + NEW, top: COMMON + NEW });
    expect(mine.superseded).toEqual({ n: OLD, lo: COMMON + 1, hi: COMMON + OLD });
    const [balance, oracleBalance] = [await balanceOf(site), await balanceOf(oracle.site)];
    const { collectors: _c, contract_id: _id, ...figures } = balance;
    const { collectors: _oc, contract_id: _oid, ...oracleFigures } = oracleBalance;
    expect(figures).toEqual(oracleFigures);
    // Counted once: the common records' 1 license-hour each and the new branch's 2.
    expect(balance.usage.license_seconds).toBe(COMMON * 3600 + NEW * 2 * 3600);
    const d1 = await d1History(site);
    expect(d1.records).toEqual(branch.records.map((r: ChainRecord) => [r.seq, hashCanonical(r)]));
    const oracleD1 = await d1History(oracle.site);
    expect(d1.facts).toEqual(oracleD1.facts);
    expect(d1.facts.length).toBe(COMMON + NEW);
  }, 300_000);
});

describe("a second fork resolved while the first's old branch is still moving", () => {
  it("one job covers both old branches; the third branch is counted once", async () => {
    const site = await enrolledSite();
    const restored = (from: SiteChain, at: number) => {
      const chain = new SiteChain(site.collectorId, site.keys.secretKey);
      chain.records.push(...from.records.slice(0, at));
      return chain;
    };
    for (let i = 0; i < 305; i++) site.chain.usage({ session: session(i) });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 305)));
    const second = restored(site.chain, 5);
    for (let i = 5; i < 40; i++) second.usage({ session: session(i), count: 2 });
    expect((await postBatch(site.collectorId, second.batch(5, 10))).status).toBe(409);
    await runInDurableObject(contractStub(site.contractId), (instance) => instance.setSupersedeChunk(CHUNK));
    await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }));
    await holdAlarm(site);
    await newBatch(site, second, 6, 40);
    expect((await doFigures(site)).job).toEqual({ next_seq: 56, to_seq: 305 });

    const third = restored(second, 30);
    for (let i = 30; i < 60; i++) third.usage({ session: session(i), count: 3 });
    expect((await postBatch(site.collectorId, third.batch(30, 35))).status).toBe(409);
    await holdAlarm(site);
    const resolved = await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }));
    await holdAlarm(site);
    expect(resolved.superseded).toEqual({ from_seq: 31, to_seq: 40, records: 10 });
    expect((await doFigures(site)).job).toEqual({ next_seq: 31 + CHUNK, to_seq: 305 });
    expect(await historySeqs(site)).toEqual({ replayable_from: 31, hwm: 30, seqs: [] });
    await settleAll(site);
    await newBatch(site, third, 31, 60);
    await settleAll(site);
    expect(await historySeqs(site)).toEqual({ replayable_from: 31, hwm: 60, seqs: [60] });

    const figures = await doFigures(site);
    expect([figures.job, figures.records, figures.superseded]).toEqual([null, { n: 60, top: 60 }, { n: 300 + 10, lo: 6, hi: 305 }]);
    expect((await balanceOf(site)).usage.license_seconds).toBe((5 + 25 * 2 + 30 * 3) * 3600);
    expect((await d1History(site)).records).toEqual(third.records.map((r: ChainRecord) => [r.seq, hashCanonical(r)]));
  }, 120_000);
});
