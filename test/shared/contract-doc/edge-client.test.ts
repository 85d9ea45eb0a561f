// The edge writes its roots with one Yjs client for the life of the contract (DESIGN.md §6: no
// stored value grows with history). Every client a doc has seen stays in it — its deleted structs
// shrink to a GC range, its state-vector entry stays — so a new client each time the ContractDO
// wakes made the doc grow with the contract's age (≈ 24 bytes a wake: past the 256 KiB cap on
// site updates after ~11,000 wakes), and every sync answer and admission twin with it.
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { ContractDocServer, MemoryContractDocStorage } from "../../../shared/contract-doc/index.ts";
import { balanceAt, dayOfWeek, newReplica, syncOnce, TERMS } from "./fixture.ts";

function docOf(server: ContractDocServer): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, server.encodeState());
  return doc;
}

describe("the edge's Yjs client", () => {
  it("a doc reloaded and written 2,000 times (a DO woken by each batch) is no larger than one reloaded twice", () => {
    const storage = new MemoryContractDocStorage();
    let server = ContractDocServer.load(storage);
    server.writeTerms(TERMS);
    const site = newReplica("col_a");
    site.replica.writeSite({ cost_centres: { ada: "CC-1" } });
    expect(syncOnce(server, site.replica)).toBeNull();
    const sizes: number[] = [];
    for (let wake = 1; wake <= 2000; wake++) {
      server = ContractDocServer.load(storage);
      server.writeBalance(balanceAt(dayOfWeek(0, wake % 20), String(100_000 - wake), { col_a: wake }));
      if (wake === 2 || wake === 2000) sizes.push(Y.encodeStateAsUpdateV2(docOf(server)).byteLength);
    }
    const doc = docOf(server);
    // The edge's one client and the site's.
    expect(doc.store.clients.size).toBe(2);
    expect(sizes[1]).toBeLessThanOrEqual(sizes[0]! + 16);
    expect(server.read().balance).toEqual(balanceAt(dayOfWeek(0, 0), String(100_000 - 2000), { col_a: 2000 }));
    // The site still syncs both ways: it receives the last balance and its own root stays.
    expect(syncOnce(server, site.replica)).toBeNull();
    expect(site.replica.read().balance).toEqual(server.read().balance);
    expect(server.read().sites.col_a).toEqual({ cost_centres: { ada: "CC-1" } });
  });
});
