// The edge side of the contract doc: one live Y.Doc loaded from storage, written by the edge
// (terms, balance) and synced with collectors. Every change is computed on a twin first, then
// persisted, then applied, so a refusal or a storage failure leaves doc and storage as they were.
import * as Y from "yjs";
import { admitSiteUpdate, DEFAULT_MAX_DOC_BYTES } from "./admission.ts";
import { readContractDoc } from "./read.ts";
import { EDGE_ROOTS, type ContractDocJson, type DocBalance, type JsonObject } from "./schema.ts";
import type { ContractDocStorage } from "./storage.ts";
import { decodeSyncRequest, encodeSyncAnswer } from "./wire.ts";
import { writeBalance, writeTerms } from "./write.ts";

export interface ContractDocServerOptions {
  /** Cap on the V2-encoded doc a collector's update may grow it to (default 256 KiB). */
  maxDocBytes?: number;
  /** Merge the update rows into one snapshot once there are more than this many (default 100). */
  compactAfterRows?: number;
}

export class ContractDocServer {
  readonly #storage: ContractDocStorage;
  readonly #maxDocBytes: number;
  readonly #compactAfterRows: number;
  #doc: Y.Doc;
  #rows: number;

  private constructor(storage: ContractDocStorage, doc: Y.Doc, rows: number, options: ContractDocServerOptions) {
    this.#storage = storage;
    this.#doc = doc;
    this.#rows = rows;
    this.#maxDocBytes = options.maxDocBytes ?? DEFAULT_MAX_DOC_BYTES;
    this.#compactAfterRows = options.compactAfterRows ?? 100;
  }

  /** Loads the snapshot and its rows (compacting if there are too many). */
  static load(storage: ContractDocStorage, options: ContractDocServerOptions = {}): ContractDocServer {
    const { snapshot, updates } = storage.load();
    const doc = new Y.Doc();
    doc.transact(() => {
      if (snapshot !== null) Y.applyUpdateV2(doc, snapshot);
      for (const update of updates) Y.applyUpdateV2(doc, update);
    });
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
      throw new Error("contract doc storage is inconsistent: its rows leave pending structs");
    }
    const edge = edgeClientOf(doc);
    if (edge !== undefined) doc.clientID = edge; else avoidKnownClientId(doc);
    const server = new ContractDocServer(storage, doc, updates.length, options);
    server.#compactIfDue();
    return server;
  }

  /** Answers a collector's sync request body (wire.ts) with the sync answer body. */
  sync(collectorId: string, body: Uint8Array): Uint8Array {
    const request = decodeSyncRequest(body);
    if (request.update !== null) {
      const changes = admitSiteUpdate(this.#doc, request.update, collectorId, { maxDocBytes: this.#maxDocBytes });
      if (changes !== null) this.#commit(changes);
    }
    return encodeSyncAnswer({
      update: Y.encodeStateAsUpdate(this.#doc, request.stateVector),
      stateVector: Y.encodeStateVector(this.#doc),
    });
  }

  writeTerms(terms: JsonObject): void {
    this.#edgeWrite((twin) => writeTerms(twin, terms));
  }

  writeBalance(balance: DocBalance): void {
    this.#edgeWrite((twin) => writeBalance(twin, balance));
  }

  read(): ContractDocJson {
    return readContractDoc(this.#doc);
  }

  /** Yjs V1 encoding of the whole doc (what a fresh collector receives). */
  encodeState(): Uint8Array {
    return Y.encodeStateAsUpdate(this.#doc);
  }

  encodeStateVector(): Uint8Array {
    return Y.encodeStateVector(this.#doc);
  }

  /** Update rows since the last snapshot. */
  get rowCount(): number {
    return this.#rows;
  }

  /** Merges every row into one snapshot now. The doc's content does not change. */
  compact(): void {
    this.#storage.replaceWithSnapshot(Y.encodeStateAsUpdateV2(this.#doc));
    this.#rows = 0;
  }

  // The edge writes on the live doc itself: applying its own client's structs as a remote update
  // would make Yjs pick a new client id on every write. A storage failure restores the old state.
  #edgeWrite(write: (doc: Y.Doc) => void): void {
    const before = Y.encodeStateAsUpdateV2(this.#doc);
    let changes: Uint8Array | null = null;
    const capture = (u: Uint8Array): void => { changes = u; };
    this.#doc.on("updateV2", capture);
    try {
      write(this.#doc);
    } finally {
      this.#doc.off("updateV2", capture);
    }
    if (changes === null) return;
    try {
      this.#persist(changes);
    } catch (err) {
      const restored = new Y.Doc({ gc: this.#doc.gc });
      Y.applyUpdateV2(restored, before);
      restored.clientID = this.#doc.clientID;
      this.#doc = restored;
      throw err;
    }
  }

  // Storage first, memory second: if storage throws, the live doc still matches it.
  #commit(changes: Uint8Array): void {
    if (!this.#compactionDue()) {
      this.#storage.appendUpdate(changes);
      Y.applyUpdateV2(this.#doc, changes);
      this.#rows++;
      return;
    }
    const next = cloneDoc(this.#doc);
    Y.applyUpdateV2(next, changes);
    this.#storage.replaceWithSnapshot(Y.encodeStateAsUpdateV2(next));
    this.#doc = next;
    this.#rows = 0;
  }

  /** Persists changes already applied to the live doc. */
  #persist(changes: Uint8Array): void {
    if (this.#compactionDue()) {
      this.#storage.replaceWithSnapshot(Y.encodeStateAsUpdateV2(this.#doc));
      this.#rows = 0;
    } else {
      this.#storage.appendUpdate(changes);
      this.#rows++;
    }
  }

  /** True when one more row would exceed the limit: the next change is stored as a snapshot instead. */
  #compactionDue(): boolean {
    return this.#rows + 1 > this.#compactAfterRows;
  }

  #compactIfDue(): void {
    if (this.#rows > this.#compactAfterRows) this.compact();
  }
}

function cloneDoc(doc: Y.Doc): Y.Doc {
  const clone = new Y.Doc({ gc: doc.gc });
  Y.applyUpdateV2(clone, Y.encodeStateAsUpdateV2(doc));
  clone.clientID = doc.clientID;
  return clone;
}

/**
 * The Yjs client the edge wrote its roots with, to write with again. Every client the doc holds
 * stays in it for good (its deleted structs shrink to a GC range, its entry in the state vector
 * stays), so a fresh client per load — each time the DO wakes — grew the doc, every sync answer
 * and the admission twin with the contract's age, until no site update fit under the size cap.
 * Reusing one is safe: only the edge writes edge roots (admission refuses any other client
 * there), there is one edge per contract, and the doc it loaded holds every struct it wrote.
 */
function edgeClientOf(doc: Y.Doc): number | undefined {
  for (const root of EDGE_ROOTS) {
    for (const item of doc.getMap(root)._map.values()) return item.id.client;
  }
  return undefined;
}

/** A fresh random client id could, rarely, be one already in the doc; never write with it. */
function avoidKnownClientId(doc: Y.Doc): void {
  while (doc.store.clients.has(doc.clientID)) doc.clientID = new Y.Doc().clientID;
}
