// `core migrate`, the sites of one contract moved with their history (docs/self-hosting.md "Moving
// between edges"): each site is registered on the target under its id and enrollment key, the
// contract's grants are re-created as they were (amount, priority, effective and creation times),
// then each site's history is replayed page by page — `GET …/collectors/:cid/history` on the
// source, posted unchanged to `POST …/collectors/:cid/replay` on the target — so every batch is
// received there when the source received it and closed periods' statements come out the same.
// Idempotent: sites are registered under their own ids (the token of the run that made one is
// kept in the archive's journal), grants carry their source ids as idempotency keys (kept by the
// target for good), and the replay resumes after the target's hwm — each batch lands once, and a
// rerun after the site moved on replays nothing. Possible only when every site's history is
// replayable from seq 1 (the source kept every batch's checkpoint); `replayability` says so before
// anything is written.
import { call, type Edge } from "./edge-client.ts";
import type { MigrationJournal, SiteEntry } from "./migrate-journal.ts";

export interface SourceSite { id: string; site: string; public_key: string }
export interface SourceGrant { id: string; amount: string; priority: number; effective_at: string | null; expires_at: string | null; created_at: string }
interface HistoryPage { hwm: number; replayable_from: number; next_after_seq: number | null }
interface Registered { collector_token: string | null; edge_public_keys: Array<{ key_id: string; public_key: string }>; acked_seq: number }

/** Each site's hwm and the first seq its history replays from (hwm + 1: none), from the source. */
export async function replayability(source: Edge, contractId: string, sites: SourceSite[]): Promise<Array<{ id: string; hwm: number; replayable_from: number }>> {
  const out = [];
  for (const site of sites) {
    const page = await call<HistoryPage>(source, "GET", `/v1/contracts/${contractId}/collectors/${site.id}/history?after_seq=${Number.MAX_SAFE_INTEGER}`);
    out.push({ id: site.id, hwm: page.hwm, replayable_from: page.replayable_from });
  }
  return out;
}

export interface ReplayedSite {
  collector_id: string; contract_id: string; site: string; batches: number; acked_seq: number;
  /** The site's token on the target (from the journal when an earlier run registered it). */
  collector_token: string | null;
  edge_public_keys: Registered["edge_public_keys"];
}

export async function replaySites(source: Edge, target: Edge, from: string, to: string, sites: Array<SourceSite & { hwm: number }>, grants: SourceGrant[], journal: MigrationJournal): Promise<ReplayedSite[]> {
  const registered = new Map<string, SiteEntry>();
  for (const site of sites) {
    // Sent on every run (it sets history_to_seq again); the token comes from the journal when the
    // site was made by an earlier run.
    const answer = await call<Registered>(target, "PUT", `/v1/contracts/${to}/collectors/${site.id}`,
      { public_key: site.public_key, site: site.site, history_to_seq: site.hwm }, `migrate-register-${site.id}`);
    registered.set(site.id, journal.site(to, site.id, { collector_token: answer.collector_token, edge_public_keys: answer.edge_public_keys })!);
  }
  // While the imports are pending the target freezes nothing and takes each grant's creation time.
  // (Sent on every run when there is history, so a rerun's grant bodies match the first run's.)
  const importing = sites.some((s) => s.hwm > 0);
  for (const g of grants) {
    await call(target, "POST", `/v1/contracts/${to}/grants`, {
      amount: g.amount, priority: g.priority, effective_at: g.effective_at, expires_at: g.expires_at, idempotency_key: `migrated-${g.id}`,
      ...(importing ? { created_at: g.created_at } : {}),
    });
  }
  const replayed: ReplayedSite[] = [];
  for (const site of sites) {
    const answer = registered.get(site.id)!;
    let batches = 0;
    // Where the target's chain is now (a rerun's registration answer is the first run's, replayed).
    let acked = (await call<HistoryPage>(target, "GET", `/v1/contracts/${to}/collectors/${site.id}/history?after_seq=${Number.MAX_SAFE_INTEGER}`)).hwm;
    for (let after: number | null = acked; after !== null && after < site.hwm;) {
      const page: HistoryPage & { bundle: { batches: unknown[] } } = await call(source, "GET", `/v1/contracts/${from}/collectors/${site.id}/history?after_seq=${after}`);
      if (page.bundle.batches.length === 0) break;
      const receipts = await call<{ receipts: Array<{ receipt: { acked_seq: number } }> }>(target, "POST", `/v1/contracts/${to}/collectors/${site.id}/replay`, page);
      batches += page.bundle.batches.length;
      acked = receipts.receipts.at(-1)?.receipt.acked_seq ?? acked;
      after = page.next_after_seq;
    }
    replayed.push({ collector_id: site.id, contract_id: to, site: site.site, batches, acked_seq: acked, collector_token: answer.collector_token, edge_public_keys: answer.edge_public_keys });
  }
  return replayed;
}
