// The edge's persistence for one contract doc, behind a narrow synchronous interface (cf.
// y-durableobjects' TransactionStorage) so the sync and compaction logic run without a runtime.
// Synchronous on purpose: a Durable Object's SQLite API is synchronous, and a caller that wraps a
// whole `ContractDocServer` call in `ctx.storage.transactionSync` gets it applied all or nothing.

/** Rows are Yjs V2 updates; the snapshot is a Yjs V2 update of the whole doc at compaction time. */
export interface ContractDocStorage {
  /** The snapshot (null before the first compaction) and every row appended after it, in order. */
  load(): { snapshot: Uint8Array | null; updates: Uint8Array[] };
  appendUpdate(update: Uint8Array): void;
  /** Atomically: `snapshot` replaces the stored snapshot and every update row is deleted. */
  replaceWithSnapshot(snapshot: Uint8Array): void;
}

/** In-memory storage: for tests, and as the reference behaviour for real implementations. */
export class MemoryContractDocStorage implements ContractDocStorage {
  snapshot: Uint8Array | null = null;
  updates: Uint8Array[] = [];

  load(): { snapshot: Uint8Array | null; updates: Uint8Array[] } {
    return { snapshot: this.snapshot, updates: [...this.updates] };
  }

  appendUpdate(update: Uint8Array): void {
    this.updates.push(update.slice());
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.snapshot = snapshot.slice();
    this.updates = [];
  }
}
