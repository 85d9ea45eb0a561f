// The ContractDO's contract doc (DESIGN.md §8): a ContractDocServer over the DO's SQLite, the
// edge-owned roots it publishes (`terms` from the contract's terms, `balance` after each applied
// batch) and the sync of a collector's replica. Every call is one SQLite transaction; when one
// fails the in-memory doc is dropped and reloaded from storage, so memory never runs ahead of
// what was committed.
import {
  ContractDocServer, type ContractDocJson, type DocBalance, type JsonObject, type JsonValue,
} from "../../shared/contract-doc/index.ts";
import type { PlanVersion } from "../../shared/pricing/index.ts";
import { instant } from "../instant.ts";
import { sendScope } from "./plan-versions.ts";
import { SqlContractDocStorage } from "./doc-storage.ts";
import type { ContractTerms, ScopeEntry } from "./terms.ts";

export type TransactionSync = <T>(f: () => T) => T;

export class ContractDocHost {
  readonly #sql: SqlStorage;
  readonly #transactionSync: TransactionSync;
  #server: ContractDocServer | undefined;

  constructor(sql: SqlStorage, transactionSync: TransactionSync) {
    this.#sql = sql;
    this.#transactionSync = transactionSync;
  }

  /** Writes `terms`; a no-op when nothing changed (the doc compares field by field). */
  publishTerms(terms: ContractTerms, versions: PlanVersion[]): void {
    this.#run((server) => server.writeTerms(docTerms(terms, versions)));
  }

  publishBalance(balance: DocBalance): void {
    this.#run((server) => server.writeBalance(balance));
  }

  /** The `balance` root is a derived cache: a failure is logged and fixed by the next batch, never
   *  allowed to fail the batch that was already committed. */
  refreshBalance(next: () => DocBalance): void {
    try {
      this.publishBalance(next());
    } catch (error) {
      console.error("publishing the contract doc balance failed:", error);
    }
  }

  /** The status can change without a batch (a grant, a plan, a new period): a site that syncs its
   *  doc must see it (site-side enforcement acts on it), so the balance is republished when its
   *  status or blocked features differ from the doc's. Nothing before the first batch publishes one. */
  refreshStatus(next: () => DocBalance): void {
    try {
      const published = this.read().balance;
      if (published === null) return;
      const balance = next();
      if (enforcementChanged(published, balance)) this.publishBalance(balance);
    } catch (error) {
      console.error("checking the contract doc's status failed:", error);
    }
  }

  /** Answers a collector's sync request; throws ContractDocError (nothing changed) on refusal. */
  sync(collectorId: string, body: Uint8Array): Uint8Array {
    return this.#run((server) => server.sync(collectorId, body));
  }

  read(): ContractDocJson {
    return this.#run((server) => server.read());
  }

  /** Update rows since the last snapshot (tests observe compaction through it). */
  rowCount(): number {
    return this.#run((server) => server.rowCount);
  }

  #run<T>(f: (server: ContractDocServer) => T): T {
    try {
      return this.#transactionSync(() => {
        this.#server ??= ContractDocServer.load(new SqlContractDocStorage(this.#sql));
        return f(this.#server);
      });
    } catch (error) {
      this.#server = undefined;
      throw error;
    }
  }
}

/**
 * What a site needs to know of its contract, offline: every plan version (so the offline estimate
 * rates each record with the version in force then), the latest plan and its rates, what to send
 * (`scope`: the union of the versions' scopes) and the fields that anchor periods.
 */
export function docTerms(terms: ContractTerms, versions: PlanVersion[]): JsonObject {
  const latest = versions[versions.length - 1]!.plan as unknown as JsonObject;
  return {
    contract_id: terms.contract_id,
    plan: latest,
    plan_versions: versions.map((v) => ({ effective_at: v.effective_at, plan: v.plan as unknown as JsonObject })),
    scope: sendScope(versions) as unknown as JsonValue,
    rates: (latest.rates ?? {}) as JsonValue,
    unit_name: terms.unit_name,
    currency: terms.currency,
    period: terms.period,
    timezone: terms.timezone,
    start_date: terms.start_date,
    start_at: instant(terms.start_at),
  };
}

export interface BalanceFigures {
  as_of: string;
  period: { start: string; end: string };
  /** Present once pricing computes it (decimal string, or null before any grant). */
  remaining_units?: string | null;
  granted_units?: string | null;
  status?: string;
  /** While `blocked`: the features a site's opt-in enforcement excludes (collector/enforce/). */
  blocked_features?: string[];
  collectors: Array<{ collector_id: string; acked_seq: number }>;
}

/**
 * The features a blocked contract blocks, for site-side enforcement: every feature that drew
 * units this period, and every feature the contract's scope names. A feature that costs nothing
 * (rate 0) is not blocked; one never used and not named by the scope cannot be known here (a site
 * lists such features itself: `enforce.features`).
 */
export function blockedFeatures(balance: { usage: { by_feature: Array<{ feature: string; units?: string }> } }, scope: ScopeEntry[] | null): string[] {
  const features = new Set<string>();
  for (const f of balance.usage.by_feature) if (f.units === undefined || !/^0(\.0*)?$/.test(f.units)) features.add(f.feature);
  for (const s of scope ?? []) for (const f of s.features) if (f !== "*") features.add(f);
  return [...features].sort();
}

/** The `balance` root: the live balance's figures plus, per collector, the acked_seq they reflect. */
export function docBalance(figures: BalanceFigures): DocBalance {
  const balance: DocBalance = {
    as_of: figures.as_of,
    remaining_units: figures.remaining_units ?? null,
    period: { start: figures.period.start, end: figures.period.end },
    collectors: Object.fromEntries(figures.collectors.map((c) => [c.collector_id, { acked_seq: c.acked_seq }])),
  };
  if (figures.granted_units !== undefined) balance.granted_units = figures.granted_units;
  if (figures.status !== undefined) balance.status = figures.status;
  if (figures.blocked_features !== undefined) balance.blocked_features = figures.blocked_features;
  return balance;
}

/** The `balance` root of a contract's live balance, with the blocked features while blocked: those
 * of `scope`, the plan version in force (a version's scope, not the first one's the DO was set up with). */
export function docBalanceOf(balance: BalanceFigures & Parameters<typeof blockedFeatures>[0], scope: ScopeEntry[] | null): DocBalance {
  return docBalance({
    as_of: balance.as_of, period: balance.period, collectors: balance.collectors,
    remaining_units: balance.remaining_units, granted_units: balance.granted_units, status: balance.status,
    ...(balance.status === "blocked" ? { blocked_features: blockedFeatures(balance, scope) } : {}),
  });
}

/** Whether what a site's enforcement acts on (the status and the blocked features) differs. */
export function enforcementChanged(published: DocBalance, next: DocBalance): boolean {
  return published.status !== next.status || JSON.stringify(published.blocked_features) !== JSON.stringify(next.blocked_features);
}
