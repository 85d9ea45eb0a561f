// ContractDO: one per contract, the single source of truth for its chains, records, usage
// totals and outbox (DESIGN.md §2). A thin shell: decisions live in shared/protocol and in the
// functions beside this file; this class owns the requests and the alarm (storage,
// transactions and the test and benchmark aids: contract-do-base.ts).
// The Worker passes `now` into every method, so an injected test clock reaches the DO.
import { edgeKey } from "../auth/edge-key.ts";
import type { Env } from "../env.ts";
import { applyBatch, batchLength, type BatchOutcome, type RateableUsage } from "./apply-batch.ts";
import { precheck, type Prechecked } from "./batch-signature.ts";
import { ensureChain, loadChain, type CollectorIdentity } from "./chains.ts";
import { migrateStorage } from "./storage-schema.ts";
import { saveTerms, type ContractTerms } from "./terms.ts";
import type { ContractDocJson } from "../../shared/contract-doc/index.ts";
import { applyBundle, type BundleOutcome } from "./apply-bundle.ts";
import { historyPage, type HistoryPage } from "./checkpoints.ts";
import { arrivalRefusal, expectHistory, type ImportState } from "./site-import.ts";
import { DocPublisher, type DocSyncOutcome } from "./doc-publisher.ts";
import { recentEnforcement, type EnforcementCursor, type EnforcementEntry } from "./enforcement-log.ts";
import { resolveFork, supersedeStep, type ResolutionOutcome } from "./fork-resolution.ts";
import { revokeCollector, type Revocation } from "./revocation.ts";
import * as billingRequests from "./billing-requests.ts";
import type { BillingHost, ContractBalance } from "./billing-requests.ts";
import { listGrants, type GrantRequest, type StoredGrant } from "./grants.ts";
import { scopeAt } from "./plan-versions.ts";
import type { PlanVersion } from "../../shared/pricing/index.ts";
import { reconcilePage, type ReconcileCursor, type ReconcileReport } from "./reconcile.ts";
import { LocalHours } from "../../shared/time/local-hours.ts";
import { checkNotices } from "./notices.ts";
import { jobsPending, runAlarm } from "./contract-alarm.ts";
import { ContractDOBase } from "./contract-do-base.ts";

export type { DocSyncOutcome } from "./doc-publisher.ts";

export class ContractDO extends ContractDOBase {
  /** The contract doc's roots and the collectors' syncs of it (doc-publisher.ts). */
  private readonly doc: DocPublisher;
  /** Every pricing request goes through it (billing-requests.ts). */
  private readonly host: BillingHost;
  /** Whether D1's daily and monthly rollups hold all of the contract's history (contract-alarm.ts). */
  private readonly coarse = { whole: false };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.doc = new DocPublisher(this.sql, (f) => ctx.storage.transactionSync(f), {
      terms: () => this.terms(), versions: (terms) => this.billing.versions(terms), balance: (now) => this.balance(now),
    });
    this.host = { sql: this.sql, billing: this.billing, terms: () => this.terms(), transact: (f) => this.transact(f) };
    void ctx.blockConcurrencyWhile(async () => {
      migrateStorage(this.sql, (f) => ctx.storage.transactionSync(f));
      // A re-rating or a fork's old branch queued before an eviction (or by a storage migration) goes on by the alarm.
      if (jobsPending(this.sql)) await this.drains.at(Date.now());
    });
  }

  /** Idempotent: the first terms win (they never change over a contract). */
  setup(terms: ContractTerms): void {
    saveTerms(this.sql, terms);
    this.doc.publishTerms();
  }

  registerCollector(who: CollectorIdentity): void {
    ensureChain(this.sql, who);
  }

  /** A site moved here from another edge (site-import.ts): its chain, expecting history up to `historyToSeq`. */
  importSite(who: CollectorIdentity, historyToSeq: number): ImportState {
    return this.transact(() => {
      ensureChain(this.sql, who);
      return expectHistory(this.sql, who.collector_id, historyToSeq);
    });
  }

  /** One page of a site's history as replayable batches (checkpoints.ts); undefined for an unknown site. */
  history(collectorId: string, afterSeq: number): HistoryPage | undefined {
    return historyPage(this.sql, collectorId, afterSeq);
  }

  async applyBatch(who: CollectorIdentity, body: unknown, now: number): Promise<BatchOutcome> {
    const key = edgeKey(this.env.EDGE_SIGNING_KEY);
    // Hashed and its signature checked natively before the transaction; everything the batch is
    // checked against is read inside it.
    const [pre] = await precheck(this.sql, who, [body]);
    const terms = this.terms();
    const outcome = this.transact(() => {
      const applied = this.applyAndRate(terms, who, body, now, key, pre!);
      this.crashes.reach("before_commit");
      return applied;
    });
    this.crashes.reach("after_commit_before_response");
    // A replay or a refusal arms only when work is pending: the first attempt of a replay may have
    // committed and then died before it armed the alarm; a refusal writes nothing but equivocation
    // evidence and its event — a site retrying a refused batch must not wake the drain each time.
    if (!outcome.ok || outcome.replay) await this.drains.ifPending();
    else await this.drains.soon();
    if (outcome.ok && !outcome.replay) this.doc.publishBalance(now);
    return outcome;
  }

  /** One page of the comparison of D1's projection with the DO; repairs what it finds (reconcile.ts). */
  async reconcile(cursor?: ReconcileCursor, seqs?: number): Promise<ReconcileReport> {
    const terms = this.terms();
    const report = await reconcilePage({
      sql: this.sql, d1: this.env.DB, contractId: terms.contract_id, hours: new LocalHours(terms.timezone),
      transact: (f) => this.ctx.storage.transactionSync(f),
    }, cursor, seqs);
    if (report.enqueued > 0) await this.drains.at(Date.now());
    return report;
  }

  /** An air-gapped bundle: each batch its own transaction, in order, up to the first refusal. With
   * `arrivals` (a history replayed from another edge, site-import.ts), batch i is received at arrivals[i]. */
  async applyBundle(who: CollectorIdentity, batches: unknown[], now: number, arrivals?: number[]): Promise<BundleOutcome> {
    // Hashed natively first: nothing read from storage may wait across an await (the signature
    // checks read the chain's keys, a hint verifyBatch checks again inside each transaction).
    const pre = await precheck(this.sql, who, batches);
    const terms = this.terms();
    const key = edgeKey(this.env.EDGE_SIGNING_KEY);
    if (arrivals) {
      const refusal = arrivals.length === batches.length ? arrivalRefusal(this.sql, who.collector_id, arrivals, now) : "received_at must have one time per batch";
      if (refusal !== null) return { receipts: [], applied: 0, arrivalRefused: refusal };
    }
    const outcome = applyBundle(batches, (body, i) => this.transact(() => this.applyAndRate(terms, who, body, arrivals?.[i] ?? now, key, pre[i]!)));
    if (outcome.applied > 0) await this.drains.soon();
    else if (outcome.refused) await this.drains.ifPending();
    if (outcome.applied > 0) this.doc.publishBalance(now);
    return outcome;
  }

  /** A collector's contract-doc sync (y-protocols body in, answer out). */
  syncDoc(who: CollectorIdentity, body: Uint8Array, now?: number): DocSyncOutcome {
    return this.doc.sync(who, body, now);
  }

  /** The sites' enforcement records, newest first (enforcement-log.ts). */
  enforcement(limit: number, after?: EnforcementCursor): EnforcementEntry[] {
    return recentEnforcement(this.sql, limit, after);
  }

  readDoc(): ContractDocJson {
    return this.doc.read();
  }

  async revokeCollector(who: CollectorIdentity, now: number): Promise<Revocation> {
    const revocation = this.ctx.storage.transactionSync(() => revokeCollector(this.sql, who, now));
    await this.drains.soon();
    return revocation;
  }

  async resolveFork(collectorId: string, lastCommonSeq: number | undefined, now: number): Promise<ResolutionOutcome> {
    const terms = this.terms();
    const outcome = this.transact(() => {
      const resolved = resolveFork(this.sql, collectorId, lastCommonSeq, now);
      // The first step at once: a short old branch is gone before the answer; the alarm moves the rest.
      if (resolved.ok) this.supersede(terms, now, this.supersedeChunk, collectorId);
      return resolved;
    });
    if (outcome.ok) {
      await this.drains.soon();
      this.doc.publishBalance(now);
    }
    return outcome;
  }

  balance(now: number): ContractBalance {
    const balance = billingRequests.contractBalance(this.host, now);
    this.checkNotices(now);
    void this.drains.ifPending();
    return balance;
  }

  async addGrant(request: GrantRequest, now: number) {
    const result = billingRequests.grant(this.host, request, now);
    this.checkNotices(now);
    await this.drains.ifPending();
    this.doc.publishStatusChange(now);
    return result;
  }

  /** A new plan version: stored and answered at once; the alarm re-rates what it changes. */
  async putPlan(plan: unknown, effectiveAt: number, now: number) {
    const result = billingRequests.putPlan(this.host, plan, effectiveAt, now);
    if (result.ok) {
      this.doc.publishTerms();
      this.doc.publishBalance(now);
    }
    await this.drains.ifPending();
    return result;
  }

  /** Every grant, in creation order (the contract export carries them to another edge). */
  grantList(): StoredGrant[] {
    return listGrants(this.sql);
  }

  /** Every plan version, in force order. */
  planVersions(): PlanVersion[] {
    return this.billing.versions(this.terms());
  }

  async statement(period: string | undefined, now: number) {
    const result = billingRequests.statement(this.host, period, now);
    await this.drains.ifPending();
    return result;
  }

  lineRecords(period: string | undefined, lineId: string, cursor: string | undefined, limit: number, now: number) {
    return billingRequests.lineRecords(this.host, period, lineId, cursor, limit, now);
  }

  async setAlerts(input: { webhook_url: string; low_thresholds_pct?: number[] }, now: number) {
    const config = billingRequests.setAlerts(this.host, input, now);
    await this.drains.ifPending();
    return config;
  }

  /** GET …/usage found the contract's older history not yet in D1's daily and monthly rollups (D1
   * is the truth, whatever this instance last saw): the alarm sums it. */
  async backfillCoarse(): Promise<void> {
    this.coarse.whole = false;
    await this.drains.at(Date.now());
  }

  /** The alarm's work (contract-alarm.ts); it re-arms itself, with backoff after failures. */
  override async alarm(): Promise<void> {
    const next = await runAlarm({
      sql: this.sql, env: this.env, billing: this.billing, terms: () => this.terms(), transact: (f) => this.transact(f),
      supersede: (now) => {
        const step = this.supersede(this.terms(), now, this.supersedeChunk);
        if (step !== "none") this.crashes.reach("supersede_before_commit");
        return step;
      },
      publishBalance: (now) => this.doc.publishBalance(now), checkNotices: (now) => this.checkNotices(now), coarse: this.coarse,
    });
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** A batch, and the rating of the usage it stored, in one transaction. */
  private applyAndRate(terms: ContractTerms, who: CollectorIdentity, body: unknown, now: number, key: ReturnType<typeof edgeKey>, pre: Prechecked): BatchOutcome {
    const before = loadChain(this.sql, who.collector_id)?.hwm ?? 0;
    const versions = this.billing.versions(terms);
    const usage: RateableUsage[] = [];
    // A resolved fork's old branch still at the seqs this batch may take moves away first.
    this.supersede(terms, now, 0, who.collector_id, before + batchLength(body));
    const outcome = applyBatch(this.sql, terms, who, body, now, key, (ts) => scopeAt(versions, ts), usage, pre.hashes, pre.checked);
    if (outcome.ok && !outcome.replay) this.billing.rateNewRecords(terms, who.collector_id, before, usage, now);
    return outcome;
  }

  /** One step of a resolved fork's old branch (fork-resolution.ts); inside the caller's transaction. */
  private supersede(terms: ContractTerms, now: number, seqs: number, collectorId?: string, through?: number) {
    return supersedeStep(this.sql, (c, from, to, restTo) => this.billing.dropRecords(terms, c, from, to, restTo, now), seqs, collectorId, through);
  }

  /** site.stale and grant.expiring events due at `now` (notices.ts); a failure never fails the request. */
  private checkNotices(now: number): void {
    try {
      const terms = this.terms();
      this.transact(() => checkNotices(this.sql, terms, now, () => new Map(this.billing.balance(terms, now).grants.map((g) => [g.id, g.remaining]))));
    } catch (error) {
      console.error("checking site and grant notices failed:", error);
    }
  }
}
