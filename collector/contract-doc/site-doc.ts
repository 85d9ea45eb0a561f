// The contract-doc step of every sync (DESIGN.md §8), after the batches: open the replica in the
// state dir and sync it with the collector token. Never fails the sync it follows: the records
// are what must reach the edge; a doc that could not be synced is reported and retried next time.
import type { Site } from "../site.ts";
import { loadCollectorToken } from "../state/identity.ts";
import { EdgeUnreachable } from "../sync/backoff.ts";
import { syncContractDoc, type DocSyncResult } from "./doc-sync.ts";
import { openReplica } from "./replica-file.ts";

export async function syncSiteDoc(site: Site, timeoutMs: number): Promise<DocSyncResult> {
  try {
    const token = await loadCollectorToken(site.paths);
    const replica = openReplica(site.paths, site.identity.collector_id);
    return await syncContractDoc(replica, { server: site.identity.server, collectorId: site.identity.collector_id, token, timeoutMs });
  } catch (e) {
    if (e instanceof EdgeUnreachable) return { ok: false, error: "edge_unreachable", message: e.reason };
    return { ok: false, error: (e as { code?: string }).code ?? "doc_sync_failed", message: (e as Error).message };
  }
}
