import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { ContractDocServer, MemoryContractDocStorage } from "../../../shared/contract-doc/index.ts";
import { balanceAt, dayOfWeek, newReplica, syncOnce, TERMS } from "./fixture.ts";

function snapshotOf(server: ContractDocServer): Y.Snapshot {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, server.encodeState());
  return Y.snapshot(doc);
}

describe("the edge's doc persists as update rows compacted into a snapshot", () => {
  it("each change is one row; past the row limit the rows merge into one snapshot, and the doc is identical before, after and across a reload", () => {
    const storage = new MemoryContractDocStorage();
    let server = ContractDocServer.load(storage, { compactAfterRows: 10 });
    server.writeTerms(TERMS);
    const a = newReplica("col_a");
    for (let i = 1; i <= 9; i++) {
      if (i % 3 === 0) {
        a.replica.writeSite({ cost_centres: { [`user${i}`]: `CC-${i}` } });
        expect(syncOnce(server, a.replica)).toBeNull();
      } else {
        server.writeBalance(balanceAt(dayOfWeek(0, i), String(100 - i), { col_a: i }));
      }
    }
    expect(storage.snapshot).toBeNull();
    expect(storage.updates.length).toBe(10);
    const json = server.read();
    const state = server.encodeState();

    // "DO eviction": a fresh instance from the same rows has the same doc.
    server = ContractDocServer.load(storage, { compactAfterRows: 10 });
    expect(server.read()).toEqual(json);
    expect(Y.equalSnapshots(snapshotOf(server), Y.snapshot(docOf(state)))).toBe(true);

    server.writeBalance(balanceAt(dayOfWeek(1), "42", { col_a: 9 })); // the 11th change compacts
    expect(storage.updates.length).toBe(0);
    expect(storage.snapshot).not.toBeNull();
    const compacted = server.read();
    expect(compacted).toEqual({ ...json, balance: balanceAt(dayOfWeek(1), "42", { col_a: 9 }) });
    const reloaded = ContractDocServer.load(storage, { compactAfterRows: 10 });
    expect(reloaded.read()).toEqual(compacted);
    expect(reloaded.encodeStateVector()).toEqual(server.encodeStateVector());
    expect(Y.equalSnapshots(snapshotOf(reloaded), snapshotOf(server))).toBe(true);

    // A collector that synced before compaction syncs on without noticing it.
    a.replica.writeSite({ site_name: "Plant A" });
    expect(syncOnce(reloaded, a.replica)).toBeNull();
    expect(a.replica.read()).toEqual(reloaded.read());
    expect(storage.updates.length).toBe(1);
  });

  it("loading more rows than the limit compacts them at once", () => {
    const storage = new MemoryContractDocStorage();
    const writer = ContractDocServer.load(storage, { compactAfterRows: 1000 });
    for (let i = 0; i < 30; i++) writer.writeBalance(balanceAt(dayOfWeek(0, i), String(i), {}));
    expect(storage.updates.length).toBe(30);
    const server = ContractDocServer.load(storage, { compactAfterRows: 20 });
    expect(storage.updates.length).toBe(0);
    expect(server.read()).toEqual(writer.read());
  });

  it("an edge write that does not change a field adds no row", () => {
    const storage = new MemoryContractDocStorage();
    const server = ContractDocServer.load(storage);
    server.writeTerms(TERMS);
    server.writeTerms(structuredClone(TERMS));
    expect(storage.updates.length).toBe(1);
  });

  it("when storage fails, the live doc is left as storage has it", () => {
    const storage = new MemoryContractDocStorage();
    const server = ContractDocServer.load(storage);
    server.writeTerms(TERMS);
    const before = server.encodeState();
    storage.appendUpdate = () => { throw new Error("disk full"); };
    expect(() => server.writeBalance(balanceAt(dayOfWeek(0), "5", {}))).toThrow("disk full");
    expect(server.encodeState()).toEqual(before);
    const a = newReplica("col_a");
    a.replica.writeSite({ site_name: "Plant A" });
    expect(() => server.sync("col_a", a.replica.syncRequest())).toThrow("disk full");
    expect(server.encodeState()).toEqual(before);
    expect(server.read().balance).toBeNull();
  });
});

function docOf(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  return doc;
}
