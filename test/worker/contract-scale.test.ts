// A contract at real size (issue 10, DESIGN.md §6 "Cost at scale"), inside workerd with the real
// ContractDO: 50,000 usage records in 500 long sessions arrive over HTTP in batches of 5,000 and
// October closes. No value the DO stores may approach Cloudflare's 2 MB row limit (local workerd
// does not enforce it), so the test reads the DO's own tables and asserts the largest value stays
// under 1 MB. Balance, statements and line traces answer after the close and equal the pure
// computation; a plan version is accepted at once (202) and re-rated by the alarm in chunks, after
// which the figures equal the pure computation on both versions.
import { describe, expect, it } from "vitest";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { computeBalance, computeStatement, type PlanVersion, type Statement } from "../../shared/pricing/index.ts";
import type { UsageData } from "../../shared/protocol/index.ts";
import type { ContractDO } from "../../worker/contract/contract-do.ts";
import { call, contractStub, ok, postBatch } from "./edge-fixture.ts";
import { appendUsage, grant, HOUR, planOf, PRICE, pricedContract, pureInput } from "./pricing-fixture.ts";
import { traceRefs } from "../shared/pricing/contract-fixture.ts";
import { largestValue } from "./stored-size.ts";

const OCT_1 = Date.UTC(2026, 9, 1);
const SESSIONS = 500;
const INTERVALS = 100;
const BATCH = 5000;
const FEATURES = Array.from({ length: 20 }, (_, i) => `FEATURE_${i}`);

describe("a contract at real size", () => {
  it("50,000 records: October closes, no stored value reaches 1 MB, reads answer after the close, a plan version re-rates through the alarm", { timeout: 600_000 }, async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" }, rates: { FEATURE_0: "2", "*": "0.5" } }), { start: "2026-10-01", grace_h: 24, now: OCT_1 + HOUR });
    await grant(c, { amount: "20000", idempotency_key: "prepaid" }, OCT_1 + HOUR);
    const site = c.sites[0]!;
    // Session s starts 2 h after session s−1 and reports 100 hourly intervals: 1 Oct to 15 Nov,
    // ~50 sessions open at any time. Records are appended in order of their end.
    const ends: number[] = [];
    const records: Array<{ session: number; i: number; start: number }> = [];
    for (let s = 0; s < SESSIONS; s++) for (let i = 0; i < INTERVALS; i++) records.push({ session: s, i, start: OCT_1 + (2 * s + i) * HOUR });
    records.sort((a, b) => a.start - b.start || a.session - b.session);
    for (const r of records) {
      const data: Partial<UsageData> & { start: number; end: number } = {
        session: `S${r.session}`, feature: FEATURES[r.session % FEATURES.length]!, user: `user${r.session % 97}`,
        start: r.start, end: r.start + HOUR - (r.session % 5) * 60_000, count: 1 + (r.session % 3),
      };
      appendUsage(site, data, data.end);
      ends.push(data.end);
    }
    for (let from = 1; from <= records.length; from += BATCH) {
      const to = Math.min(records.length, from + BATCH - 1);
      const now = ends[to - 1]! + 60_000;
      await ok(await postBatch(site.id, site.chain.batch(from, to), { now }));
      for (const r of site.chain.records.slice(from - 1, to)) {
        const d = r.data as UsageData;
        c.intervals.push({ ref: `${site.id}:${r.seq}`, session: `${site.id}:${d.session}`, feature: d.feature, start: d.start, end: d.end, count: d.count, received_at: now });
      }
      site.sent = to;
    }
    expect(c.intervals).toHaveLength(SESSIONS * INTERVALS);

    // 12 Nov: October closed on 2 Nov (end + 24 h) and is frozen by this first request.
    const NOV_12 = Date.UTC(2026, 10, 12);
    const oct = await ok(await call("GET", `/v1/contracts/${c.id}/statement?period=2026-10-01`, { token: c.vendor.api_key, now: NOV_12 }));
    const frozenOct: Statement = { ...computeStatement(pureInput(c), "2026-10-01"), state: "closed" };
    expect(oct).toEqual({ contract_id: c.id, ...frozenOct });
    expect(oct.lines.map((l: any) => l.kind)).toEqual(["prepaid_usage", "overage", "overage", "tier_flat_fee"]);

    const stored = await runInDurableObject(contractStub(c.id), (_i, state) => largestValue(state.storage.sql));
    expect(stored.bytes).toBeGreaterThan(0);
    expect(stored.bytes).toBeLessThan(1024 * 1024);

    const balance = await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key, now: NOV_12 }));
    const { as_of: _, ...pure } = computeBalance(pureInput(c, [frozenOct]), NOV_12);
    expect(Object.fromEntries(Object.keys(pure).map((k) => [k, balance[k]]))).toEqual(pure);
    const nov = await ok(await call("GET", `/v1/contracts/${c.id}/statement`, { token: c.vendor.api_key, now: NOV_12 }));
    expect(nov).toEqual({ contract_id: c.id, ...computeStatement(pureInput(c, [frozenOct]), "2026-11-01") });

    // October's last overage line: the records after the grant's 20,000 units and tier 1, in time
    // order; one site sending in order gives a single run of seqs. It equals the pure attribution.
    const overage = oct.lines.findLast((l: any) => l.kind === "overage");
    const items: Array<{ collector_id: string; first_seq: number; last_seq: number }> = [];
    let cursor: string | null = null;
    do {
      const page: any = await ok(await call("GET", `/v1/contracts/${c.id}/statement/lines/${encodeURIComponent(overage.id)}/records?period=2026-10-01&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: c.vendor.api_key, now: NOV_12 }));
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    const seqs = traceRefs({ ...pureInput(c), frozen: [] }, "2026-10-01", overage.id).map((ref) => Number(ref.slice(ref.lastIndexOf(":") + 1)));
    expect(items).toEqual([{ collector_id: site.id, first_seq: seqs[0], last_seq: seqs[seqs.length - 1] }]);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect(seqs[0]).toBeGreaterThan(20_000 / 2); // the grant took the first ones (≤ 2 units each)

    // A plan version from 5 Nov: accepted at once, re-rated by the alarm in bounded chunks.
    const next = { ...planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }), rates: { FEATURE_0: "3", "*": "1" } };
    const put = await ok(await call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, now: NOV_12, body: { plan: next, effective_at: "2026-11-05T00:00:00Z" } }), 202);
    expect(put.rerating.done).toBe(0);
    expect(put.rerating.total).toBeGreaterThan(1000);
    let alarms = 0;
    const progress: number[] = [];
    for (;;) {
      const b = await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key, now: NOV_12 }));
      if (!b.rerating) break;
      progress.push(b.rerating.done);
      await runDurableObjectAlarm(contractStub(c.id));
      alarms++;
    }
    // Several alarm runs, each moving the job on (each run re-rates a bounded number of intervals).
    expect(alarms).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(progress.some((d) => d > 0 && d < put.rerating.total)).toBe(true);
    c.plans.push({ effective_at: Date.UTC(2026, 10, 5), plan: next as unknown as PlanVersion["plan"] });
    const after = await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key, now: NOV_12 }));
    const { as_of: __, ...pureAfter } = computeBalance(pureInput(c, [frozenOct]), NOV_12);
    expect(Object.fromEntries(Object.keys(pureAfter).map((k) => [k, after[k]]))).toEqual(pureAfter);
    expect(after.usage.units).not.toBe(balance.usage.units);
    console.log(`[scale] largest stored value: ${stored.table}.${stored.column}, ${stored.bytes} B; plan change re-rated in ${alarms} alarm runs`);
    const doc = await runInDurableObject(contractStub(c.id), (instance: ContractDO) => instance.readDoc());
    expect((doc.terms.plan_versions as unknown[]).length).toBe(2);
  });
});
