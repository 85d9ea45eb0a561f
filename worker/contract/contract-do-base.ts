// What every ContractDO request stands on (contract-do.ts): its SQLite storage, the contract's
// terms, transactions that keep the billing store's buffers right, and the alarm's arming; and the
// aids tests and benchmarks reach the DO through (refused in production).
import { DurableObject } from "cloudflare:workers";
import type { ChainRecord } from "../../shared/protocol/index.ts";
import type { Env } from "../env.ts";
import { drainAll, hashAndInsert, refuseInProduction, storageFigures, type StorageFigures } from "./bench-aids.ts";
import { ContractBilling } from "./billing.ts";
import { DrainAlarm } from "./contract-alarm.ts";
import { CrashPoints, type CrashStep } from "./crash-points.ts";
import { SUPERSEDE_CHUNK } from "./fork-resolution.ts";
import { loadTerms, type ContractTerms } from "./terms.ts";

export abstract class ContractDOBase extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  /** Live pricing (billing.ts); every pricing request goes through the DO's BillingHost (billing-requests.ts). */
  protected readonly billing: ContractBilling;
  /** Arms the alarm (contract-alarm.ts); a bad drain delay setting fails every request. */
  protected readonly drains: DrainAlarm;
  /** Test-only (crash-points.ts); in memory, so an evicted DO forgets an armed crash. */
  protected readonly crashes = new CrashPoints();
  /** Seqs per step of a resolved fork's old branch; tests set fewer (`setSupersedeChunk`). */
  protected supersedeChunk = SUPERSEDE_CHUNK;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.drains = new DrainAlarm(ctx.storage, env);
    this.billing = new ContractBilling(this.sql);
  }

  /** Test and development only: the next batch apply (or alarm step) throws at `step` (crash-points.ts). */
  armCrash(step: CrashStep): void {
    this.crashes.arm(step, this.env.TALLY_ENV);
  }

  /** Test and development only: a fork's old branch moves `seqs` at a time (a long branch in a short test). */
  setSupersedeChunk(seqs: number): void {
    refuseInProduction(this.env, "setSupersedeChunk");
    this.supersedeChunk = seqs;
  }

  /** Benchmark baseline only (refused in production): hash and insert rows, nothing else. */
  async benchmarkInsert(rows: ChainRecord[]): Promise<number> {
    refuseInProduction(this.env, "benchmarkInsert");
    return hashAndInsert(this.ctx.storage, rows);
  }

  /** Benchmark only (refused in production): drains the whole outbox into D1 now, as the alarm would
   *  (edge-ingest times the drain apart from the apply it holds back); answers the rows left. */
  async benchmarkDrain(): Promise<number> {
    refuseInProduction(this.env, "benchmarkDrain");
    return drainAll(this.sql, this.env.DB, this.terms().contract_id);
  }

  /** Benchmark only (refused in production): the database size, the outbox length and (full) each table's rows and value bytes. */
  benchmarkStorage(full: boolean): StorageFigures {
    refuseInProduction(this.env, "benchmarkStorage");
    return storageFigures(this.sql, full);
  }

  protected terms(): ContractTerms {
    const terms = loadTerms(this.sql);
    if (!terms) throw new Error("ContractDO has no terms: setup() was never called");
    return terms;
  }

  /** transactionSync that writes the billing store's buffered rows before it commits, and drops the
   *  billing caches when it rolls back (they may hold its changes). */
  protected transact<T>(f: () => T): T {
    try {
      // The live store buffers rows until its next statement: none may stay behind at commit.
      return this.ctx.storage.transactionSync(() => { const result = f(); this.billing.flush(); return result; });
    } catch (error) {
      this.billing.reset();
      throw error;
    }
  }
}
