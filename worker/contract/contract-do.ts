// ContractDO: one per contract, the single source of truth for its chains, records, usage
// totals and outbox (DESIGN.md §2). A thin shell: decisions live in shared/protocol and in the
// functions beside this file; this class owns storage, transactions and the alarm.
// The Worker passes `now` into every method, so an injected test clock reaches the DO.
import { DurableObject } from "cloudflare:workers";
import { hashCanonical, type ChainRecord } from "../../shared/protocol/index.ts";
import { edgeKey } from "../auth/edge-key.ts";
import type { Env } from "../env.ts";
import { applyBatch, type BatchOutcome } from "./apply-batch.ts";
import { readBalance, type Balance } from "./balance.ts";
import { ensureChain, type CollectorIdentity } from "./chains.ts";
import { drainOutbox } from "./outbox.ts";
import { migrateStorage } from "./storage-schema.ts";
import { loadTerms, saveTerms, type ContractTerms } from "./terms.ts";
import { ContractDocError, type ContractDocJson } from "../../shared/contract-doc/index.ts";
import { applyBundle, type BundleOutcome } from "./apply-bundle.ts";
import { ContractDocHost, docBalance } from "./doc-host.ts";
import { resolveFork, type ResolutionOutcome } from "./fork-resolution.ts";
import { isRevoked, revokeCollector, type Revocation } from "./revocation.ts";

export type DocSyncOutcome =
  | { ok: true; body: Uint8Array }
  | { ok: false; error: { error: "revoked" | "doc_update_refused" | "malformed_doc_message"; message: string; reason?: string } };

/** Delay before draining, so a burst of batches is drained in one pass. */
const DRAIN_DELAY_MS = 1000;
const MAX_BACKOFF_MS = 5 * 60 * 1000;

export class ContractDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly doc: ContractDocHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.doc = new ContractDocHost(this.sql, (f) => ctx.storage.transactionSync(f));
    void ctx.blockConcurrencyWhile(async () => {
      migrateStorage(this.sql, (f) => ctx.storage.transactionSync(f));
    });
  }

  /** Idempotent: the first terms win (they never change over a contract). */
  setup(terms: ContractTerms): void {
    saveTerms(this.sql, terms);
    this.doc.publishTerms(this.terms());
  }

  registerCollector(who: CollectorIdentity): void {
    ensureChain(this.sql, who);
  }

  async applyBatch(who: CollectorIdentity, body: unknown, now: number): Promise<BatchOutcome> {
    const terms = this.terms();
    const key = edgeKey(this.env.EDGE_SIGNING_KEY);
    const outcome = this.ctx.storage.transactionSync(() => applyBatch(this.sql, terms, who, body, now, key));
    if (!(outcome.ok && outcome.replay)) await this.armDrain(Date.now() + DRAIN_DELAY_MS);
    if (outcome.ok && !outcome.replay) this.publishBalance(now);
    return outcome;
  }

  /** An air-gapped bundle: each batch its own transaction, in order, up to the first refusal. */
  async applyBundle(who: CollectorIdentity, batches: unknown[], now: number): Promise<BundleOutcome> {
    const terms = this.terms();
    const key = edgeKey(this.env.EDGE_SIGNING_KEY);
    const outcome = applyBundle(batches, (body) => this.ctx.storage.transactionSync(() => applyBatch(this.sql, terms, who, body, now, key)));
    if (outcome.applied > 0 || outcome.refused) await this.armDrain(Date.now() + DRAIN_DELAY_MS);
    if (outcome.applied > 0) this.publishBalance(now);
    return outcome;
  }

  /** A collector's contract-doc sync (y-protocols body in, answer out). */
  syncDoc(who: CollectorIdentity, body: Uint8Array): DocSyncOutcome {
    ensureChain(this.sql, who);
    if (isRevoked(this.sql, who.collector_id)) return { ok: false, error: { error: "revoked", message: `collector ${who.collector_id} is revoked` } };
    this.doc.publishTerms(this.terms()); // no-op unless the terms changed since they were last written
    try {
      return { ok: true, body: this.doc.sync(who.collector_id, body) };
    } catch (error) {
      if (error instanceof ContractDocError && error.code !== "invalid_doc_content") {
        return { ok: false, error: { ...error.toJSON(), error: error.code } };
      }
      throw error;
    }
  }

  readDoc(): ContractDocJson {
    return this.doc.read();
  }

  async revokeCollector(who: CollectorIdentity, now: number): Promise<Revocation> {
    const revocation = this.ctx.storage.transactionSync(() => revokeCollector(this.sql, who, now));
    await this.armDrain(Date.now() + DRAIN_DELAY_MS);
    return revocation;
  }

  async resolveFork(collectorId: string, lastCommonSeq: number | undefined, now: number): Promise<ResolutionOutcome> {
    const terms = this.terms();
    const outcome = this.ctx.storage.transactionSync(() => resolveFork(this.sql, terms, collectorId, lastCommonSeq, now));
    if (outcome.ok) {
      await this.armDrain(Date.now() + DRAIN_DELAY_MS);
      this.publishBalance(now);
    }
    return outcome;
  }

  balance(now: number): Balance {
    return readBalance(this.sql, this.terms(), now);
  }

  /** Outbox → D1. Catches its own failures and re-arms with backoff: the runtime retries a
   * throwing alarm only a few times, and the outbox must survive a long D1 outage. */
  override async alarm(): Promise<void> {
    try {
      const remaining = await drainOutbox(this.sql, this.env.DB, this.terms().contract_id);
      this.sql.exec("UPDATE drain_state SET failures = 0");
      if (remaining > 0) await this.ctx.storage.setAlarm(Date.now());
    } catch (error) {
      const failures = this.sql.exec<{ failures: number }>("UPDATE drain_state SET failures = failures + 1 RETURNING failures").one().failures;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures - 1, 20));
      console.error(`outbox drain failed (attempt ${failures}), retrying in ${delay} ms:`, error);
      await this.ctx.storage.setAlarm(Date.now() + delay);
    }
  }

  /** Benchmark baseline only (refused in production): hash and insert rows, nothing else. */
  benchmarkInsert(rows: ChainRecord[]): number {
    if (this.env.TALLY_ENV === "production") throw new Error("benchmarkInsert is not available in production");
    this.ctx.storage.transactionSync(() => {
      for (const r of rows) {
        this.sql.exec("INSERT OR REPLACE INTO bench_records (collector_id, seq, hash, record_json) VALUES (?, ?, ?, ?)", r.collector_id, r.seq, hashCanonical(r), JSON.stringify(r));
      }
    });
    return rows.length;
  }

  private terms(): ContractTerms {
    const terms = loadTerms(this.sql);
    if (!terms) throw new Error("ContractDO has no terms: setup() was never called");
    return terms;
  }

  /** The doc's `balance` root: a derived cache, so a failure is logged and fixed by the next batch,
   * never allowed to fail the batch that was already committed. */
  private publishBalance(now: number): void {
    try {
      const balance = this.balance(now) as Balance & { remaining_units?: string | null; granted_units?: string | null; status?: string };
      this.doc.publishBalance(docBalance({
        as_of: balance.as_of, period: balance.period, collectors: balance.collectors,
        ...(balance.remaining_units !== undefined ? { remaining_units: balance.remaining_units } : {}),
        ...(balance.granted_units !== undefined ? { granted_units: balance.granted_units } : {}),
        ...(balance.status !== undefined ? { status: balance.status } : {}),
      }));
    } catch (error) {
      console.error("publishing the contract doc balance failed:", error);
    }
  }

  private async armDrain(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}
