import { describe, expect, it } from "vitest";
import { ContractDocReplica } from "../../../shared/contract-doc/index.ts";
import { balanceAt, dayOfWeek, newEdge, newReplica, syncOnce, TERMS } from "./fixture.ts";

describe("a site offline for a week merges cleanly on sync", () => {
  it("site edits made on different days while the edge writes new balances merge, and both sides converge to identical JSON", () => {
    const { server } = newEdge();
    server.writeTerms(TERMS);
    server.writeBalance(balanceAt(dayOfWeek(0), "100", { col_a: 0, col_b: 0 }));
    const a = newReplica("col_a");
    const b = newReplica("col_b");
    a.replica.writeSite({ site_name: "Plant A", contact: "ops@a.example", cost_centres: { alice: "CC-100", bob: "CC-100" } });
    expect(syncOnce(server, a.replica)).toBeNull();
    expect(syncOnce(server, b.replica)).toBeNull();

    // col_a goes offline for the week; it restarts twice (a fresh process opens the stored replica).
    a.replica.writeSite({ cost_centres: { carol: "CC-200" } }); // Monday
    server.writeBalance(balanceAt(dayOfWeek(1), "91.5", { col_a: 0, col_b: 40 }));
    let replicaA = ContractDocReplica.open(a.store, "col_a");
    replicaA.writeSite({ cost_centres: { bob: "CC-300" }, notes: "night shift uses CC-300" }); // Wednesday
    b.replica.writeSite({ site_name: "Lab B" });
    expect(syncOnce(server, b.replica)).toBeNull();
    server.writeBalance(balanceAt(dayOfWeek(3), "80.25", { col_a: 0, col_b: 77 }));
    server.writeTerms({ ...TERMS, unit_name: "credit" }); // the vendor renames the unit mid-week
    replicaA = ContractDocReplica.open(a.store, "col_a");
    replicaA.writeSite({ contact: null, cost_centres: { alice: null } }); // Saturday: clears two entries
    server.writeBalance(balanceAt(dayOfWeek(6, 12), "72", { col_a: 0, col_b: 120 }));

    // Offline, col_a still sees the balance and terms of its last sync; its own edits are all there.
    expect(replicaA.read().balance?.remaining_units).toBe("100");
    expect(replicaA.read().terms.unit_name).toBe("token");
    expect(replicaA.hasUnsentEdits).toBe(true);

    expect(syncOnce(server, replicaA)).toBeNull(); // the link is back on Sunday
    expect(syncOnce(server, b.replica)).toBeNull();
    const expected = {
      terms: { ...TERMS, unit_name: "credit" },
      balance: balanceAt(dayOfWeek(6, 12), "72", { col_a: 0, col_b: 120 }),
      sites: {
        col_a: { site_name: "Plant A", notes: "night shift uses CC-300", cost_centres: { bob: "CC-300", carol: "CC-200" } },
        col_b: { site_name: "Lab B", cost_centres: {} },
      },
    };
    expect(server.read()).toEqual(expected);
    expect(replicaA.read()).toEqual(expected);
    expect(b.replica.read()).toEqual(expected);
    expect(replicaA.hasUnsentEdits).toBe(false);
    expect(replicaA.encodeState()).toEqual(server.encodeState());
  });

  it("a sync with nothing to send carries no update, and a replica that never synced sees nothing until it does", () => {
    const { server } = newEdge();
    server.writeTerms(TERMS);
    const a = newReplica("col_a");
    expect(a.replica.read()).toEqual({ terms: {}, balance: null, sites: {} });
    const body = a.replica.syncRequest();
    expect(body).toEqual(new Uint8Array([0, 1, 0])); // SyncStep1 of an empty state vector, no Update
    a.replica.applySyncAnswer(server.sync("col_a", body));
    expect(a.replica.read().terms).toEqual(TERMS);
  });

  it("an edit made between building the request and applying the answer is sent next time", () => {
    const { server } = newEdge();
    const a = newReplica("col_a");
    a.replica.writeSite({ site_name: "Plant A" });
    const body = a.replica.syncRequest();
    a.replica.writeSite({ contact: "late@a.example" });
    a.replica.applySyncAnswer(server.sync("col_a", body));
    expect(a.replica.hasUnsentEdits).toBe(true);
    expect(server.read().sites.col_a).toEqual({ site_name: "Plant A", cost_centres: {} });
    expect(syncOnce(server, a.replica)).toBeNull();
    expect(server.read().sites.col_a).toEqual({ site_name: "Plant A", contact: "late@a.example", cost_centres: {} });
  });
});
