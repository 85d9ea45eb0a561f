// The edge's gate for a collector's update (DESIGN §8): apply it to a twin of the doc first and
// refuse it — leaving the real doc untouched — unless every struct it adds and every item it
// deletes lies under `site:<its own collector_id>`, it leaves nothing pending, keeps the site root
// in schema and keeps the doc under the size cap. A crafted update can name any parent, origin or
// delete range, so the checks look at what the twin actually integrated, not at what the update claims.
import * as Y from "yjs";
import { ContractDocError, refused, type RefusalReason } from "./errors.ts";
import { siteSchemaProblem } from "./read.ts";
import { EDGE_ROOTS, siteRootName } from "./schema.ts";

export interface AdmissionLimits {
  /** Largest V2-encoded doc state (bytes) a collector's update may grow the doc to. */
  maxDocBytes: number;
}

export const DEFAULT_MAX_DOC_BYTES = 256 * 1024;

/**
 * Checks a collector's V1 `update` against `doc` without changing `doc`. Returns the V2 update of
 * exactly what it would change (null when it changes nothing, e.g. a resend), to persist and
 * then apply. Throws `doc_update_refused` (with a reason) or `malformed_doc_message`.
 */
export function admitSiteUpdate(doc: Y.Doc, update: Uint8Array, collectorId: string, limits: AdmissionLimits): Uint8Array | null {
  const ownRoot = siteRootName(collectorId);
  if (update.byteLength > limits.maxDocBytes) {
    throw refused("too_large", `the update (${update.byteLength} bytes) exceeds the doc size cap (${limits.maxDocBytes})`);
  }
  let meta: { from: Map<number, number> };
  try {
    meta = Y.parseUpdateMeta(update);
  } catch {
    throw new ContractDocError("malformed_doc_message", "the update is not a Yjs V1 update");
  }
  for (const client of meta.from.keys()) {
    const owner = ownerRoot(doc, client);
    if (owner !== null && owner !== ownRoot) {
      throw refused("foreign_client", `the update carries structs of Yjs client ${client}, which writes ${owner}`);
    }
  }

  const before = Y.encodeStateAsUpdateV2(doc);
  const twin = new Y.Doc({ gc: doc.gc });
  Y.applyUpdateV2(twin, before);
  const rootsBefore = new Set(twin.share.keys());
  const violations: Array<[RefusalReason, string]> = [];
  let changes: Uint8Array | null = null;
  twin.on("afterTransaction", (tr: Y.Transaction) => violations.push(...transactionViolations(tr, ownRoot)));
  twin.on("updateV2", (u: Uint8Array) => { changes = changes === null ? u : Y.mergeUpdatesV2([changes, u]); });
  try {
    Y.applyUpdate(twin, update);
  } catch {
    throw new ContractDocError("malformed_doc_message", "the update could not be applied (malformed Yjs update)");
  }

  if (twin.store.pendingStructs !== null || twin.store.pendingDs !== null) {
    throw refused("pending_structs", "the update depends on structs or deletions the edge does not have");
  }
  for (const root of twin.share.keys()) {
    if (!rootsBefore.has(root) && root !== ownRoot && !EDGE_ROOTS.includes(root)) {
      throw refused("new_root", `the update creates the root ${JSON.stringify(root)}; a site writes only ${ownRoot}`);
    }
  }
  const [first] = violations;
  if (first !== undefined) throw refused(first[0], first[1]);
  if (changes === null) return null;
  const schema = siteSchemaProblem(twin, collectorId);
  if (schema !== null) throw refused("schema", `${ownRoot}: ${schema}`);
  const size = Y.encodeStateAsUpdateV2(twin).byteLength;
  if (size > limits.maxDocBytes && size > before.byteLength) {
    throw refused("too_large", `the update grows the doc to ${size} bytes, past the cap of ${limits.maxDocBytes}`);
  }
  return changes;
}

/** Every rule a (just integrated, not yet garbage-collected) transaction on the twin breaks. */
function transactionViolations(tr: Y.Transaction, ownRoot: string): Array<[RefusalReason, string]> {
  const out: Array<[RefusalReason, string]> = [];
  const checkRoot = (type: unknown, what: string): void => {
    const root = rootOf(type);
    if (root === ownRoot) return;
    if (root !== null && EDGE_ROOTS.includes(root)) out.push(["edge_content", `the update ${what} the edge-owned root ${root}`]);
    else if (root !== null && root.startsWith("site:")) out.push(["foreign_root", `the update ${what} ${root}; a site writes only ${ownRoot}`]);
    else out.push(["new_root", `the update ${what} ${root === null ? "an unresolvable parent" : JSON.stringify(root)}`]);
  };
  const store = tr.doc.store;
  for (const [client, after] of tr.afterState) {
    const before = tr.beforeState.get(client) ?? 0;
    if (after <= before) continue;
    const structs = store.clients.get(client) ?? [];
    for (let i = Y.findIndexSS(structs, before); i < structs.length && structs[i]!.id.clock < after; i++) {
      const struct = structs[i]!;
      if (!(struct instanceof Y.Item)) continue; // a GC struct carries no content and no parent
      checkRoot(struct.parent, "inserts into");
      const problem = contentProblem(struct, ownRoot);
      if (problem !== null) out.push(["schema", problem]);
    }
  }
  Y.iterateDeletedStructs(tr, tr.deleteSet, (struct) => {
    if (struct instanceof Y.Item) checkRoot(struct.parent, "deletes from");
  });
  for (const type of tr.changed.keys()) checkRoot(type, "changes");
  return out;
}

/** A site root holds map entries only, and only JSON values and nested maps. */
function contentProblem(item: Y.Item, ownRoot: string): string | null {
  const content = item.content;
  const parent = item.parent as Y.AbstractType<unknown>;
  if (parent._item === null && item.parentSub === null) return `${ownRoot} is a map: list content is not allowed`;
  if (content instanceof Y.ContentAny || content instanceof Y.ContentDeleted) return null;
  if (content instanceof Y.ContentType && content.type instanceof Y.Map) return null;
  return `${ownRoot} holds only JSON values and nested maps, not ${content.constructor.name}`;
}

/** The root name a type lives under, or null if its parent chain does not end at a root. */
function rootOf(type: unknown): string | null {
  let current: unknown = type;
  for (let depth = 0; depth < 10_000; depth++) {
    if (!(current instanceof Y.AbstractType)) return null;
    const item: Y.Item | null = current._item;
    if (item === null) {
      for (const [name, root] of current.doc?.share ?? []) if (root === current) return name;
      return null;
    }
    current = item.parent;
  }
  return null;
}

/**
 * The root that already-stored structs of Yjs client `client` live under, or null for a client
 * the doc has never seen. Yjs trusts client ids, so a collector that reused another writer's id
 * at future clocks would make that writer's own later structs look like duplicates and vanish.
 */
function ownerRoot(doc: Y.Doc, client: number): string | null {
  for (const struct of doc.store.clients.get(client) ?? []) {
    if (struct instanceof Y.Item) return rootOf(struct.parent);
  }
  return null;
}
