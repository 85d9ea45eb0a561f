// The collector's replica of its contract doc: read offline, edited by the site (its own root
// only), synced with the edge in one round trip, persisted as one blob after every change.
//
// Sync (DESIGN §8): `syncRequest()` → POST body; a 200 body → `applySyncAnswer()`; a 422
// `doc_update_refused` → `discard()` then sync again, which pulls the edge's doc afresh (local
// site edits the edge never accepted are dropped with the replica; write them again if wanted).
//
// Blob: varUint format (1), varUint8Array edge state vector (empty before the first answer),
// varUint unsent-site-edits flag (0/1), varUint8Array Yjs V2 state of the replica. Each load gets a new random Yjs client id: a state dir
// restored from an old snapshot would otherwise reuse clocks the edge already holds.
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { ContractDocError } from "./errors.ts";
import { readContractDoc } from "./read.ts";
import { siteRootName, type ContractDocJson, type SitePatch } from "./schema.ts";
import { decodeSyncAnswer, encodeSyncRequest } from "./wire.ts";
import { writeSite } from "./write.ts";

/** Where the replica lives (the collector: a file in its state dir, written atomically). */
export interface ReplicaStore {
  load(): Uint8Array | null;
  save(blob: Uint8Array): void;
}

const BLOB_FORMAT = 1;

export class ContractDocReplica {
  readonly collectorId: string;
  readonly #store: ReplicaStore;
  #doc: Y.Doc;
  /** The edge's state vector from its last answer: what it is known to hold. */
  #edgeStateVector: Uint8Array | null;
  /** Site edits the edge has not confirmed; without them a sync only pulls (and costs the edge no twin). */
  #unsent: boolean;
  /** Bumped by every site edit, so an answer only clears `#unsent` for edits its request carried. */
  #edits = 0;
  #requestedAt = -1;

  private constructor(store: ReplicaStore, collectorId: string, state: ReplicaState) {
    this.#store = store;
    this.collectorId = collectorId;
    this.#doc = state.doc;
    this.#edgeStateVector = state.edgeStateVector;
    this.#unsent = state.unsent;
  }

  static open(store: ReplicaStore, collectorId: string): ContractDocReplica {
    siteRootName(collectorId);
    const blob = store.load();
    const state = blob === null ? { doc: new Y.Doc(), edgeStateVector: null, unsent: false } : decodeBlob(blob);
    return new ContractDocReplica(store, collectorId, state);
  }

  read(): ContractDocJson {
    return readContractDoc(this.#doc);
  }

  /** Edits this site's own root (the only root a collector may write), then persists. */
  writeSite(patch: SitePatch): void {
    let changed = false; // a deletion changes the doc but not its state vector: watch for updates
    const onUpdate = (): void => { changed = true; };
    this.#doc.on("update", onUpdate);
    try {
      writeSite(this.#doc, this.collectorId, patch);
    } finally {
      this.#doc.off("update", onUpdate);
    }
    if (!changed) return;
    this.#unsent = true;
    this.#edits++;
    this.#save();
  }

  /** The body of `POST /v1/collectors/:id/doc`: SyncStep1 + the changes the edge may lack. */
  syncRequest(): Uint8Array {
    this.#requestedAt = this.#edits;
    return encodeSyncRequest({
      stateVector: Y.encodeStateVector(this.#doc),
      update: this.#unsent ? Y.encodeStateAsUpdate(this.#doc, this.#edgeStateVector ?? undefined) : null,
    });
  }

  /** Applies the edge's 200 answer and remembers what the edge holds. Throws `malformed_doc_message`. */
  applySyncAnswer(body: Uint8Array): void {
    const answer = decodeSyncAnswer(body);
    const next = cloneDoc(this.#doc);
    try {
      Y.applyUpdate(next, answer.update);
    } catch {
      throw new ContractDocError("malformed_doc_message", "the edge's SyncStep2 is not a Yjs update");
    }
    this.#doc = next;
    this.#edgeStateVector = answer.stateVector;
    if (this.#requestedAt === this.#edits) this.#unsent = false;
    this.#save();
  }

  /** After a refusal: forget everything, so the next sync pulls the edge's doc whole. */
  discard(): void {
    this.#doc = new Y.Doc();
    this.#edgeStateVector = null;
    this.#unsent = false;
    this.#save();
  }

  /** True while site edits wait for an answer from the edge. */
  get hasUnsentEdits(): boolean {
    return this.#unsent;
  }

  /** Yjs V1 encoding of the whole replica. */
  encodeState(): Uint8Array {
    return Y.encodeStateAsUpdate(this.#doc);
  }

  #save(): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, BLOB_FORMAT);
    encoding.writeVarUint8Array(encoder, this.#edgeStateVector ?? new Uint8Array());
    encoding.writeVarUint(encoder, this.#unsent ? 1 : 0);
    encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdateV2(this.#doc));
    this.#store.save(encoding.toUint8Array(encoder));
  }
}

interface ReplicaState {
  doc: Y.Doc;
  edgeStateVector: Uint8Array | null;
  unsent: boolean;
}

function decodeBlob(blob: Uint8Array): ReplicaState {
  try {
    const decoder = decoding.createDecoder(blob);
    const format = decoding.readVarUint(decoder);
    if (format !== BLOB_FORMAT) throw new Error(`format ${format}`);
    const sv = decoding.readVarUint8Array(decoder);
    const unsent = decoding.readVarUint(decoder) === 1;
    const doc = new Y.Doc();
    Y.applyUpdateV2(doc, decoding.readVarUint8Array(decoder));
    return { doc, edgeStateVector: sv.byteLength === 0 ? null : sv, unsent };
  } catch (err) {
    throw new ContractDocError("malformed_doc_message", `the stored replica is unreadable (${(err as Error).message}); discard it and sync again`);
  }
}

function cloneDoc(doc: Y.Doc): Y.Doc {
  const clone = new Y.Doc();
  Y.applyUpdateV2(clone, Y.encodeStateAsUpdateV2(doc));
  clone.clientID = doc.clientID;
  return clone;
}
