// The ContractDO's side of its contract doc (doc-host.ts holds the doc itself): the edge-owned roots
// it republishes — `terms` with every plan version, `balance` after a change and whenever its
// enforcement status moved — and a collector's sync, refused once the collector is revoked.
import { ContractDocError, type ContractDocJson } from "../../shared/contract-doc/index.ts";
import type { PlanVersion } from "../../shared/pricing/index.ts";
import type { ContractBalance } from "./billing-requests.ts";
import { ensureChain, type CollectorIdentity } from "./chains.ts";
import { ContractDocHost, docBalanceOf, type TransactionSync } from "./doc-host.ts";
import { isRevoked } from "./revocation.ts";
import { scopeAt } from "./plan-versions.ts";
import type { ContractTerms, ScopeEntry } from "./terms.ts";

export type DocSyncOutcome =
  | { ok: true; body: Uint8Array }
  | { ok: false; error: { error: "revoked" | "doc_update_refused" | "malformed_doc_message"; message: string; reason?: string } };

/** Where the roots come from: the DO's terms, plan versions and live balance. */
export interface DocSources {
  terms(): ContractTerms;
  versions(terms: ContractTerms): PlanVersion[];
  balance(now: number): ContractBalance;
}

export class DocPublisher {
  readonly #sql: SqlStorage;
  readonly #doc: ContractDocHost;
  readonly #from: DocSources;

  constructor(sql: SqlStorage, transactionSync: TransactionSync, from: DocSources) {
    this.#sql = sql;
    this.#doc = new ContractDocHost(sql, transactionSync);
    this.#from = from;
  }

  /** A collector's contract-doc sync (y-protocols body in, answer out). */
  sync(who: CollectorIdentity, body: Uint8Array, now?: number): DocSyncOutcome {
    ensureChain(this.#sql, who);
    if (isRevoked(this.#sql, who.collector_id)) return { ok: false, error: { error: "revoked", message: `collector ${who.collector_id} is revoked` } };
    this.publishTerms(); // no-op unless the terms changed since they were last written
    if (now !== undefined) this.publishStatusChange(now);
    try {
      return { ok: true, body: this.#doc.sync(who.collector_id, body) };
    } catch (error) {
      if (error instanceof ContractDocError && error.code !== "invalid_doc_content") {
        return { ok: false, error: { ...error.toJSON(), error: error.code } };
      }
      throw error;
    }
  }

  read(): ContractDocJson {
    return this.#doc.read();
  }

  /** The doc's `balance` root (a derived cache: a failure is logged, never thrown). */
  publishBalance(now: number): void {
    this.#doc.refreshBalance(() => docBalanceOf(this.#from.balance(now), this.#scopeAt(now)));
  }

  /** The scope of the plan version in force at `now`: what a blocked contract blocks. */
  #scopeAt(now: number): ScopeEntry[] | null {
    const terms = this.#from.terms();
    return scopeAt(this.#from.versions(terms), now);
  }

  /** The doc's `terms` root, with every plan version. */
  publishTerms(): void {
    const terms = this.#from.terms();
    this.#doc.publishTerms(terms, this.#from.versions(terms));
  }

  /** Republishes the balance when its enforcement differs from the doc's (doc-host.ts refreshStatus). */
  publishStatusChange(now: number): void {
    this.#doc.refreshStatus(() => docBalanceOf(this.#from.balance(now), this.#scopeAt(now)));
  }
}
