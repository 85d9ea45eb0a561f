// Syncs the contract-doc replica with the edge (DESIGN.md §8): one POST of y-protocols messages
// with the collector token. A 422 `doc_update_refused` means the edge will never take our site
// edits as they are: discard the replica and pull the edge's doc afresh (once per call).
import { ContractDocError, type ContractDocReplica } from "../../shared/contract-doc/index.ts";
import { EdgeUnreachable } from "../sync/backoff.ts";
import { edgeFetch } from "../sync/edge-client.ts";

export type DocSyncResult =
  | { ok: true; discarded: boolean; balance_as_of: string | null }
  | { ok: false; error: string; message: string; status?: number };

export interface DocSyncTarget { server: string; collectorId: string; token: string; timeoutMs: number }

export async function syncContractDoc(replica: ContractDocReplica, target: DocSyncTarget): Promise<DocSyncResult> {
  let discarded = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    const reply = await post(target, replica.syncRequest());
    if (reply.status === 200) {
      try {
        replica.applySyncAnswer(reply.bytes);
      } catch (e) {
        if (e instanceof ContractDocError) return { ok: false, error: e.code, message: e.message };
        throw e;
      }
      return { ok: true, discarded, balance_as_of: replica.read().balance?.as_of ?? null };
    }
    const body = parseError(reply.bytes);
    if (reply.status === 422 && body.error === "doc_update_refused" && !discarded) {
      replica.discard();
      discarded = true;
      continue;
    }
    return { ok: false, error: body.error ?? `http_${reply.status}`, message: body.message ?? "", status: reply.status };
  }
  return { ok: false, error: "doc_update_refused", message: "the edge refused even a fresh pull" };
}

async function post(target: DocSyncTarget, body: Uint8Array): Promise<{ status: number; bytes: Uint8Array }> {
  const url = `${target.server.replace(/\/+$/, "")}/v1/collectors/${encodeURIComponent(target.collectorId)}/doc`;
  try {
    const response = await edgeFetch(url, {
      method: "POST", body,
      headers: { "content-type": "application/octet-stream", authorization: `Bearer ${target.token}` },
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status >= 500 || response.status === 429) throw new EdgeUnreachable(`POST ${url}: HTTP ${response.status}`);
    return { status: response.status, bytes };
  } catch (e) {
    if (e instanceof EdgeUnreachable) throw e;
    const err = e as Error & { cause?: { code?: string } };
    throw new EdgeUnreachable(`POST ${url}: ${err.name === "TimeoutError" ? `no answer within ${target.timeoutMs} ms` : (err.cause?.code ?? err.message)}`);
  }
}

function parseError(bytes: Uint8Array): { error?: string; message?: string } {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { error?: unknown; message?: unknown };
    return { ...(typeof parsed.error === "string" ? { error: parsed.error } : {}), ...(typeof parsed.message === "string" ? { message: parsed.message } : {}) };
  } catch {
    return {};
  }
}
