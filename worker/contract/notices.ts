// Webhook events that follow the clock or a site rather than the balance (DESIGN.md §7):
//   site.stale             a collector's last sync (or its enrollment, before the first) is older
//                          than 2 × expected_sync_s — once per crossing, re-armed by its next sync;
//   grant.expiring         a grant's expires_at is GRANT_EXPIRING_LEAD_MS away or less — once per
//                          grant (none for a grant created already expired);
//   collector.equivocation a collector is flagged for a fork — once per flag, created in the same
//                          write as the evidence (the only writes a rejected batch makes).
// `checkNotices` is idempotent: the `notices` table remembers what fired and for which basis, so
// running it from every request and every alarm creates each event once. Like the other events,
// none is created while no webhook is configured, but the crossing is still remembered: an event
// announces a change, not a state that already held when the webhook was set.
import type { EquivocationEvidence } from "../../shared/protocol/index.ts";
import { instant } from "../instant.ts";
import { createEvent } from "./alerts.ts";
import type { ChainRow } from "./chains.ts";
import type { ContractTerms } from "./terms.ts";

/** A week's notice: time to top up or renew before the units go. */
export const GRANT_EXPIRING_LEAD_MS = 7 * 86_400_000;

export const NOTICES_STEP = `
  CREATE TABLE notices (kind TEXT NOT NULL, subject TEXT NOT NULL, basis INTEGER NOT NULL, fired_at INTEGER NOT NULL,
    PRIMARY KEY (kind, subject)) WITHOUT ROWID;`;

/** A later storage step: grants by expiry, so the checks below seek the grants expiring from now on
 * instead of reading every grant ever made (and every notice fired) on each request. */
export const GRANT_EXPIRY_INDEX_STEP = `
  CREATE INDEX grants_expiring ON grants (expires_at) WHERE expires_at IS NOT NULL;`;

interface SiteRow { collector_id: string; site: string; last_sync: number | null; enrolled_at: number; fired_basis: number | null }
interface GrantRow { id: string; amount: string; expires_at: number }

function staleAfterMs(terms: ContractTerms): number {
  return 2 * terms.expected_sync_s * 1000;
}

/** Creates the site.stale and grant.expiring events due at `now`. Run inside a transaction. */
export function checkNotices(sql: SqlStorage, terms: ContractTerms, now: number, remainingOf: () => Map<string, string | null>): void {
  const staleAfter = staleAfterMs(terms);
  for (const s of sites(sql)) {
    const basis = s.last_sync ?? s.enrolled_at;
    if (now - basis <= staleAfter || s.fired_basis === basis) continue;
    createEvent(sql, terms.contract_id, "site.stale", {
      collector_id: s.collector_id, site: s.site, last_sync: s.last_sync === null ? null : instant(s.last_sync),
      stale_since: instant(basis + staleAfter), expected_sync_s: terms.expected_sync_s,
    }, now);
    remember(sql, "site.stale", s.collector_id, basis, now);
  }
  const expiring = sql.exec<GrantRow & Record<string, SqlStorageValue>>(
    `SELECT id, amount, expires_at FROM grants g WHERE expires_at IS NOT NULL AND expires_at > ?1 AND expires_at <= ?1 + ?2
       AND NOT EXISTS (SELECT 1 FROM notices WHERE kind = 'grant.expiring' AND subject = g.id) ORDER BY expires_at, id`, now, GRANT_EXPIRING_LEAD_MS).toArray();
  if (expiring.length === 0) return;
  const remaining = remainingOf();
  for (const g of expiring) {
    createEvent(sql, terms.contract_id, "grant.expiring", {
      grant_id: g.id, amount: g.amount, remaining: remaining.get(g.id) ?? null, expires_at: instant(g.expires_at),
    }, now);
    remember(sql, "grant.expiring", g.id, g.expires_at, now);
  }
}

/** When checkNotices next has something to do (null: nothing scheduled). */
export function nextNoticeAt(sql: SqlStorage, terms: ContractTerms, now: number): number | null {
  const staleAfter = staleAfterMs(terms);
  let next: number | null = null;
  const consider = (t: number) => { if (t > now && (next === null || t < next)) next = t; };
  for (const s of sites(sql)) {
    const basis = s.last_sync ?? s.enrolled_at;
    if (s.fired_basis !== basis) consider(basis + staleAfter + 1);
  }
  const grant = sql.exec<{ at: number | null }>(
    `SELECT expires_at - ?2 AS at FROM grants g WHERE expires_at IS NOT NULL AND expires_at > ?1 + ?2
       AND NOT EXISTS (SELECT 1 FROM notices WHERE kind = 'grant.expiring' AND subject = g.id) ORDER BY expires_at LIMIT 1`, now, GRANT_EXPIRING_LEAD_MS).toArray()[0]?.at ?? null;
  if (grant !== null) consider(grant);
  return next;
}

/** A fork was just detected (apply-batch.ts): the event, unless the collector is already flagged. */
export function equivocationDetected(sql: SqlStorage, contractId: string, chain: ChainRow, evidence: EquivocationEvidence, flag: string, now: number): void {
  if ((JSON.parse(chain.flags_json) as string[]).includes(flag)) return;
  createEvent(sql, contractId, "collector.equivocation", {
    collector_id: chain.collector_id, site: chain.site, seq: evidence.seq,
    stored_hash: evidence.stored_hash, received_hash: evidence.received_hash,
  }, now);
}

/** Sites that can go stale: every collector not revoked, with the basis its last stale event had. */
function sites(sql: SqlStorage): SiteRow[] {
  return sql.exec<SiteRow & Record<string, SqlStorageValue>>(
    `SELECT c.collector_id, c.site, c.last_sync, c.enrolled_at, n.basis AS fired_basis FROM chains c
       LEFT JOIN notices n ON n.kind = 'site.stale' AND n.subject = c.collector_id
     WHERE c.revoked_at IS NULL ORDER BY c.collector_id`).toArray();
}

function remember(sql: SqlStorage, kind: string, subject: string, basis: number, now: number): void {
  sql.exec(`INSERT INTO notices (kind, subject, basis, fired_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (kind, subject) DO UPDATE SET basis = excluded.basis, fired_at = excluded.fired_at`, kind, subject, basis, now);
}
