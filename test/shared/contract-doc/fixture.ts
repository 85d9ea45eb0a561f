// Shared setup for the contract-doc tests: plain terms and balances, an in-memory replica store,
// a sync round trip that behaves like the collector's (refusal → discard → pull), and an
// "attacker" doc that holds the edge's state and crafts updates a real collector would never send.
import * as Y from "yjs";
import {
  ContractDocError, ContractDocReplica, ContractDocServer, encodeSyncRequest, MemoryContractDocStorage,
  type ContractDocServerOptions, type DocBalance, type ReplicaStore,
} from "../../../shared/contract-doc/index.ts";

export const TERMS = {
  plan: { kind: "prepaid", currency: "USD", unit_name: "token" },
  scope: { features: ["MATLAB", "Simulink"] },
  rates: [{ feature: "MATLAB", units_per_hour: "1.25" }],
  unit_name: "token",
};

const DAY = 86_400_000;
export const WEEK_START = Date.UTC(2026, 10, 23);

export function balanceAt(ms: number, remaining: string, acked: Record<string, number>): DocBalance {
  return {
    as_of: new Date(ms).toISOString(),
    remaining_units: remaining,
    period: { start: "2026-11-01T00:00:00.000Z", end: "2026-12-01T00:00:00.000Z" },
    collectors: Object.fromEntries(Object.entries(acked).map(([id, seq]) => [id, { acked_seq: seq }])),
  };
}

export function dayOfWeek(day: number, hour = 0): number {
  return WEEK_START + day * DAY + hour * 3_600_000;
}

export class MemoryReplicaStore implements ReplicaStore {
  blob: Uint8Array | null = null;
  load(): Uint8Array | null { return this.blob; }
  save(blob: Uint8Array): void { this.blob = blob.slice(); }
}

export function newEdge(options: ContractDocServerOptions = {}): { server: ContractDocServer; storage: MemoryContractDocStorage } {
  const storage = new MemoryContractDocStorage();
  return { server: ContractDocServer.load(storage, options), storage };
}

export function newReplica(collectorId: string): { replica: ContractDocReplica; store: MemoryReplicaStore } {
  const store = new MemoryReplicaStore();
  return { replica: ContractDocReplica.open(store, collectorId), store };
}

/** One sync pass as the collector runs it; returns the refusal reason if its update was refused. */
export function syncOnce(server: ContractDocServer, replica: ContractDocReplica): string | null {
  try {
    replica.applySyncAnswer(server.sync(replica.collectorId, replica.syncRequest()));
    return null;
  } catch (err) {
    if (!(err instanceof ContractDocError) || err.code !== "doc_update_refused") throw err;
    replica.discard();
    replica.applySyncAnswer(server.sync(replica.collectorId, replica.syncRequest()));
    return err.reason ?? "unknown";
  }
}

/** A doc holding exactly the edge's current state: edit it, then `craftedBody` sends the edit. */
export function attackerDoc(server: ContractDocServer, clientID?: number): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, server.encodeState());
  if (clientID !== undefined) doc.clientID = clientID;
  return doc;
}

/** A sync request whose update is everything `doc` has beyond the edge's state (deletions included). */
export function craftedBody(server: ContractDocServer, doc: Y.Doc): Uint8Array {
  return encodeSyncRequest({ stateVector: Y.encodeStateVector(doc), update: Y.encodeStateAsUpdate(doc, server.encodeStateVector()) });
}

/** Everything a refusal must leave untouched, to compare byte for byte. */
export function edgeFingerprint(server: ContractDocServer, storage: MemoryContractDocStorage): string {
  const hex = (b: Uint8Array | null): string => (b === null ? "-" : Buffer.from(b).toString("hex"));
  return [hex(server.encodeState()), hex(server.encodeStateVector()), hex(storage.snapshot), ...storage.updates.map(hex)].join("|");
}
