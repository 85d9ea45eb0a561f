// The contract doc's storage inside the ContractDO's SQLite (shared/contract-doc's narrow,
// synchronous ContractDocStorage): update rows in `doc_rows`, the compacted snapshot in
// `doc_snapshot`. Callers wrap every ContractDocServer call in `ctx.storage.transactionSync`,
// so a snapshot replacing its rows is all or nothing.
import type { ContractDocStorage } from "../../shared/contract-doc/index.ts";

export class SqlContractDocStorage implements ContractDocStorage {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  load(): { snapshot: Uint8Array | null; updates: Uint8Array[] } {
    const snapshot = this.#sql.exec<{ state_v2: ArrayBuffer }>("SELECT state_v2 FROM doc_snapshot WHERE one = 1").toArray()[0];
    const updates = this.#sql.exec<{ update_v2: ArrayBuffer }>("SELECT update_v2 FROM doc_rows ORDER BY id").toArray();
    return {
      snapshot: snapshot ? new Uint8Array(snapshot.state_v2) : null,
      updates: updates.map((r) => new Uint8Array(r.update_v2)),
    };
  }

  appendUpdate(update: Uint8Array): void {
    this.#sql.exec("INSERT INTO doc_rows (update_v2) VALUES (?)", update);
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.#sql.exec("INSERT INTO doc_snapshot (one, state_v2) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET state_v2 = excluded.state_v2", snapshot);
    this.#sql.exec("DELETE FROM doc_rows");
  }
}
