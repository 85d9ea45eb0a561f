// Site-side enforcement (issue #14, opt-in by `enforce` in the run config): while the contract's
// status, as the edge last published it in the contract doc's balance, is `blocked`, the license
// manager's options file holds a marked block excluding the blocked features (options-block.ts),
// and the manager has been told to reread it; once the status is anything else, the block is gone
// and the manager has reread that.
//
// A change is made in three steps, each repeatable: the intent is written down (`enforcement.json`
// in the state dir), the options file is replaced, the reread command runs. A crash anywhere
// repeats what is missing at the next step: a file already right is not rewritten, and the
// pending reread is run. A reread that fails is reported (health, `status`) and retried with
// backoff (interval doubling, at most 15 min); it never stops the daemon.
//
// Every change is a record of kind `enforcement` (DESIGN.md §4): `{action, features, at, result,
// manager}` with result `applied` once the reread succeeded, or `reread_failed` the first time a
// change's reread failed (so at most two records per change, however long the retries go on).
import { join } from "node:path";
import type { DocBalance } from "../../shared/contract-doc/index.ts";
import type { RecordBody } from "../../shared/protocol/index.ts";
import { readJsonFile, writeJsonFile } from "../state/json-file.ts";
import { currentBlock, exclusionLines, isOptionsToken, withBlock, type ManagerKind } from "./options-block.ts";
import { readOptionsFile, replaceOptionsFile, runReread } from "./options-file.ts";

export const ENFORCEMENT_FILE = "enforcement.json";
const MAX_RETRY_MS = 15 * 60_000;
const FIRST_RETRY_MS = 30_000;
/** Enough for any real contract; bounds the record (64 KiB) and the options file's block. */
export const MAX_FEATURES = 500;

export interface EnforceConfig {
  kind: ManagerKind;
  options_file: string;
  /** argv, no shell: `["lmreread", "-c", "/opt/flexlm/license.dat"]`, `["rlmreread"]`. */
  reread: string[];
  reread_timeout_s: number;
  /** When set, the features to exclude while blocked (instead of the edge's `blocked_features`). */
  features?: string[];
}

interface Pending { action: "block" | "unblock"; features: string[]; at: number; failed_once: boolean }

export interface EnforcementView {
  kind: ManagerKind;
  options_file: string;
  /** The contract status the last step acted on (null: no balance pulled yet). */
  contract_status: string | null;
  /** Features the options file excludes now (empty: no block). */
  excluded: string[];
  /** Blocked features that cannot be written as an options-file token (reported, not written). */
  skipped: string[];
  reread_pending: boolean;
  last_change: { at: number; action: string; features: string[]; result: string } | null;
  last_error: { at: number; message: string } | null;
  consecutive_failures: number;
  retry_at: number | null;
}

export class SiteEnforcer {
  readonly config: EnforceConfig;
  readonly view: EnforcementView;
  readonly #statePath: string;
  readonly #append: (bodies: RecordBody[]) => Promise<unknown>;
  #pending: Pending | null = null;

  private constructor(config: EnforceConfig, stateDir: string, append: (bodies: RecordBody[]) => Promise<unknown>) {
    this.config = config;
    this.#statePath = join(stateDir, ENFORCEMENT_FILE);
    this.#append = append;
    this.view = {
      kind: config.kind, options_file: config.options_file, contract_status: null, excluded: [], skipped: [],
      reread_pending: false, last_change: null, last_error: null, consecutive_failures: 0, retry_at: null,
    };
  }

  static async open(config: EnforceConfig, stateDir: string, append: (bodies: RecordBody[]) => Promise<unknown>): Promise<SiteEnforcer> {
    const enforcer = new SiteEnforcer(config, stateDir, append);
    const saved = await readJsonFile<{ pending: Pending | null }>(enforcer.#statePath);
    enforcer.#pending = saved?.pending ?? null;
    enforcer.view.reread_pending = enforcer.#pending !== null;
    return enforcer;
  }

  /** A reread to retry whose time has come (the daemon also steps after every doc sync). */
  due(now: number): boolean {
    return this.#pending !== null && (this.view.retry_at ?? 0) <= now;
  }

  /** A step on the balance `readBalance` gives (the local contract doc replica's, the last the edge
   *  published), logging what changed and what failed. */
  async stepLogged(readBalance: () => DocBalance | null, now: number, log: (line: string) => void): Promise<void> {
    const before = { change: this.view.last_change, error: this.view.last_error };
    let balance = null;
    try {
      balance = readBalance();
    } catch (e) {
      log(`enforcement: the contract doc replica cannot be read: ${(e as Error).message}`);
      return;
    }
    await this.step(balance, now);
    const { last_change: change, last_error: error } = this.view;
    if (change && change !== before.change) log(`enforcement: ${change.action} ${change.features.join(", ") || "(no features)"} in ${this.config.options_file}: ${change.result}`);
    if (error && error !== before.error) log(`enforcement: ${error.message}; retrying at the next sync${this.view.reread_pending ? " or sooner" : ""}`);
  }

  /** Brings the options file in line with `balance` (null: nothing known yet, nothing done). */
  async step(balance: DocBalance | null, now: number): Promise<void> {
    if (balance === null) return;
    const status = typeof balance.status === "string" ? balance.status : null;
    this.view.contract_status = status;
    try {
      const wanted = status === "blocked" ? this.#blockedFeatures(balance) : [];
      const bytes = await readOptionsFile(this.config.options_file);
      const before = excludedFeatures(currentBlock(bytes) ?? []);
      const next = withBlock(bytes, exclusionLines(this.config.kind, wanted));
      if (next !== null) {
        const action = wanted.length > 0 ? "block" : "unblock";
        await this.#savePending({ action, features: action === "block" ? wanted : before, at: now, failed_once: false });
        await replaceOptionsFile(this.config.options_file, next);
      }
      this.view.excluded = wanted;
      if (this.#pending === null) this.#ok();
      else if (next !== null || this.due(now)) await this.#reread(now);
    } catch (e) {
      this.#failed(now, (e as Error).message);
    }
  }

  #blockedFeatures(balance: DocBalance): string[] {
    const fromEdge = Array.isArray(balance.blocked_features) ? balance.blocked_features.filter((f): f is string => typeof f === "string") : [];
    const all = [...new Set(this.config.features ?? fromEdge)].sort();
    this.view.skipped = all.filter((f) => !isOptionsToken(f));
    const ok = all.filter(isOptionsToken);
    if (ok.length > MAX_FEATURES) this.view.skipped.push(...ok.splice(MAX_FEATURES));
    return ok;
  }

  async #reread(now: number): Promise<void> {
    const pending = this.#pending!;
    const result = await runReread(this.config.reread, this.config.reread_timeout_s * 1000);
    if (result.ok) {
      await this.#record(pending, "applied");
      await this.#savePending(null);
      this.#ok();
      return;
    }
    if (!pending.failed_once) {
      await this.#record(pending, "reread_failed");
      await this.#savePending({ ...pending, failed_once: true });
    }
    this.#failed(now, `options file written, reread failed: ${result.message}`);
  }

  async #record(pending: Pending, result: string): Promise<void> {
    await this.#append([{ kind: "enforcement", data: { action: pending.action, features: pending.features, at: pending.at, result, manager: this.config.kind } }]);
    this.view.last_change = { at: pending.at, action: pending.action, features: pending.features, result };
  }

  async #savePending(pending: Pending | null): Promise<void> {
    await writeJsonFile(this.#statePath, { pending });
    this.#pending = pending;
    this.view.reread_pending = pending !== null;
  }

  #ok(): void {
    Object.assign(this.view, { last_error: null, consecutive_failures: 0, retry_at: null });
  }

  #failed(now: number, message: string): void {
    const v = this.view;
    v.consecutive_failures++;
    v.last_error = { at: now, message };
    v.retry_at = now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(v.consecutive_failures - 1, 20));
  }
}

/** The features of a block's `EXCLUDE <feature> …` lines. */
function excludedFeatures(lines: string[]): string[] {
  return lines.map((l) => l.trim().split(/\s+/)[1]).filter((f): f is string => f !== undefined).sort();
}
