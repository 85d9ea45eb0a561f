// Bench aid only (not product code): runs the ContractDO's batch path — applyBatch + rateNewRecords
// + the balance the DO publishes after — on the edge-ingest bench's batches over node:sqlite
// (node-sql-storage.ts), so it can be profiled: `npx tsx --cpu-prof bench/profile/ingest-profile.ts`.
// Prints ms per batch and SQL statements per record, by statement. DRAIN=1 also drains the outbox
// into a node:sqlite D1 (node-d1.ts) after each batch and prints the drain's ms and D1's per statement.
// DRAWS=1 runs contract-apply's draw path instead: a session per record, rated by use windows and checkouts.
import { batchBodies } from "../suites/edge-ingest.ts";
import { batchBodies as sessionBatchBodies, DRAW_RATES } from "../suites/contract-apply.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import { parseStrictJson } from "../../shared/protocol/index.ts";
import { edgeKey } from "../../worker/auth/edge-key.ts";
import { applyBatch, type RateableUsage } from "../../worker/contract/apply-batch.ts";
import { ContractBilling } from "../../worker/contract/billing.ts";
import { ensureChain, loadChain } from "../../worker/contract/chains.ts";
import { scopeAt } from "../../worker/contract/plan-versions.ts";
import { migrateStorage } from "../../worker/contract/storage-schema.ts";
import { saveTerms, type ContractTerms } from "../../worker/contract/terms.ts";
import { nodeSqlStorage } from "./node-sql-storage.ts";
import { contractBalance } from "../../worker/contract/billing-requests.ts";
import { ContractDocHost, docBalanceOf } from "../../worker/contract/doc-host.ts";
import { checkNotices } from "../../worker/contract/notices.ts";
import { drainOutbox } from "../../worker/contract/outbox.ts";
import { nodeD1 } from "./node-d1.ts";

const DRAWS = process.env.DRAWS === "1";
const SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const { sql, transactionSync, counts, statements } = nodeSqlStorage(process.env.PROFILE_DB ?? ":memory:");
migrateStorage(sql, transactionSync);
const terms: ContractTerms = {
  contract_id: "ct_bench", vendor_id: "vd_bench", start_date: "2020-01-01", start_at: Date.UTC(2020, 0, 1), timezone: "UTC", period: "month",
  unit_name: "token", currency: "USD", scope: null,
  plan: { model: "token", currency: "USD", unit_name: "token", period: "month", rates: DRAWS ? DRAW_RATES : { "*": "1" }, overage: { policy: "block" } },
  statement_grace_h: 72, expected_sync_s: 3600,
};
saveTerms(sql, terms);
const keys = generateKeyPair();
const who = { collector_id: "col_benchcollector0001", public_key: keys.publicKey, site: "bench", enrolled_at: Date.now() - 1000 };
ensureChain(sql, who);
const bodies = DRAWS ? sessionBatchBodies(who.collector_id, keys.secretKey, true) : batchBodies(who.collector_id, keys.secretKey);
const key = edgeKey(SEED);
const billing = new ContractBilling(sql);
const doc = new ContractDocHost(sql, transactionSync);
const host = { sql, billing, terms: () => terms, transact: transactionSync };
const publishMs: number[] = [];
// DRAIN=1: the alarm's outbox drain into D1 (node-d1.ts) after each batch, timed apart.
const { d1, timings } = process.env.DRAIN === "1" ? nodeD1() : { d1: undefined, timings: new Map<string, number>() };
const drainMs: number[] = [];

let warm = 0;
const times: number[] = [];
for (const text of bodies) {
  const t0 = performance.now();
  const body = parseStrictJson(text, { maxDepth: 16 });
  const now = Date.now();
  const before = counts.size && warm > 0 ? statements() : 0;
  const outcome = transactionSync(() => {
    const hwm = loadChain(sql, who.collector_id)?.hwm ?? 0;
    const versions = billing.versions(terms);
    const usage: RateableUsage[] = [];
    const o = applyBatch(sql, terms, who, body, now, key, (ts) => scopeAt(versions, ts), usage);
    if (o.ok && !o.replay) billing.rateNewRecords(terms, who.collector_id, hwm, usage, now);
    return o;
  });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
  const p0 = performance.now();
  // What ContractDO.publishBalance does after the batch: the full balance, notices, the doc's balance root.
  const balance = contractBalance(host, now);
  transactionSync(() => checkNotices(sql, terms, now, () => new Map(billing.balance(terms, now).grants.map((g) => [g.id, g.remaining]))));
  doc.publishBalance(docBalanceOf(balance, scopeAt(billing.versions(terms), now)));
  if (warm > 0) publishMs.push(performance.now() - p0);
  const ms = performance.now() - t0;
  if (d1) {
    const d0 = performance.now();
    await drainOutbox(sql, d1, terms.contract_id);
    if (warm > 0) drainMs.push(performance.now() - d0);
  }
  if (warm++ > 0) times.push(ms); else counts.clear();
  void before;
}
const n = times.length * 1000;
console.log(`ms per batch: ${times.map((t) => t.toFixed(0)).join(" ")}; records/s ${(n / (times.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)}`);
console.log(`of which publishing the balance: ${publishMs.map((t) => t.toFixed(1)).join(" ")} ms`);
if (d1) console.log(`draining the outbox into D1: ${drainMs.map((t) => t.toFixed(0)).join(" ")} ms`);
console.log(`SQL statements per record: ${(statements() / n).toFixed(2)}`);
for (const [q, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(c / n).toFixed(3)}  ${q.replace(/\s+/g, " ").slice(0, 150)}`);
for (const [q, t] of [...timings].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`D1 ${(t / times.length).toFixed(1)} ms/batch  ${q}`);
