import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { ContractDocError, encodeSyncRequest, type ContractDocServer } from "../../../shared/contract-doc/index.ts";
import {
  attackerDoc, balanceAt, craftedBody, dayOfWeek, edgeFingerprint, newEdge, newReplica, syncOnce, TERMS,
} from "./fixture.ts";

/** An edge with terms, a balance, and two synced sites (col_a with a cost centre, col_b with notes). */
function populatedEdge(options = {}) {
  const edge = newEdge(options);
  edge.server.writeTerms(TERMS);
  edge.server.writeBalance(balanceAt(dayOfWeek(0), "100", { col_a: 0, col_b: 0 }));
  const a = newReplica("col_a");
  const b = newReplica("col_b");
  a.replica.writeSite({ site_name: "Plant A", cost_centres: { alice: "CC-100" } });
  b.replica.writeSite({ site_name: "Lab B", notes: "air-gapped on weekends", cost_centres: { bob: "CC-200" } });
  expect(syncOnce(edge.server, a.replica)).toBeNull();
  expect(syncOnce(edge.server, b.replica)).toBeNull();
  return { ...edge, a, b };
}

function expectRefused(server: ContractDocServer, collectorId: string, body: Uint8Array, reason: string): void {
  let caught: unknown;
  try {
    server.sync(collectorId, body);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ContractDocError);
  expect((caught as ContractDocError).toJSON()).toMatchObject({ error: "doc_update_refused", reason });
}

type Attack = { name: string; reason: string; options?: object; craft: (server: ContractDocServer) => Uint8Array };

const attacks: Attack[] = [
  { name: "overwrites a term (item whose origin is a terms item)", reason: "edge_content",
    craft: (s) => { const d = attackerDoc(s); d.getMap("terms").set("unit_name", "free"); return craftedBody(s, d); } },
  { name: "adds a new key to terms (item whose parent is the terms root)", reason: "edge_content",
    craft: (s) => { const d = attackerDoc(s); d.getMap("terms").set("discount", "100%"); return craftedBody(s, d); } },
  { name: "deletes edge content only (a bare delete set on balance)", reason: "edge_content",
    craft: (s) => { const d = attackerDoc(s); d.getMap("balance").delete("remaining_units"); return craftedBody(s, d); } },
  { name: "hides a terms edit inside an otherwise legitimate site edit", reason: "edge_content",
    craft: (s) => { const d = attackerDoc(s); d.transact(() => { d.getMap("site:col_a").set("contact", "ops@a.example"); d.getMap("terms").delete("rates"); }); return craftedBody(s, d); } },
  { name: "creates a new root", reason: "new_root",
    craft: (s) => { const d = attackerDoc(s); d.getMap("admin").set("role", "vendor"); return craftedBody(s, d); } },
  { name: "writes another site's root", reason: "foreign_root",
    craft: (s) => { const d = attackerDoc(s); d.getMap("site:col_b").set("site_name", "pwned"); return craftedBody(s, d); } },
  { name: "writes into another site's nested cost-centre map", reason: "foreign_root",
    craft: (s) => { const d = attackerDoc(s); (d.getMap("site:col_b").get("cost_centres") as Y.Map<string>).set("mallory", "CC-666"); return craftedBody(s, d); } },
  { name: "reuses the edge's Yjs client id", reason: "foreign_client",
    craft: (s) => { const d = attackerDoc(s, writerOf(s, "terms")); d.getMap("site:col_a").set("contact", "x"); return craftedBody(s, d); } },
  { name: "reuses another site's Yjs client id at future clocks", reason: "foreign_client",
    craft: (s) => { const d = attackerDoc(s, writerOf(s, "site:col_b")); d.getMap("site:col_a").set("contact", "x"); return craftedBody(s, d); } },
  { name: "puts list content in its map root", reason: "schema",
    craft: (s) => { const d = attackerDoc(s); d.getArray("site:col_a").insert(0, ["x"]); return craftedBody(s, d); } },
  { name: "puts a Y.Text in its root", reason: "schema",
    craft: (s) => { const d = attackerDoc(s); d.getMap("site:col_a").set("notes", new Y.Text("hi")); return craftedBody(s, d); } },
  { name: "replaces cost_centres by a plain object", reason: "schema",
    craft: (s) => { const d = attackerDoc(s); d.getMap("site:col_a").set("cost_centres", { alice: "CC-1" }); return craftedBody(s, d); } },
  { name: "sends structs whose predecessors the edge never got", reason: "pending_structs",
    craft: (s) => { const d = attackerDoc(s); const root = d.getMap("site:col_a"); root.set("contact", "1"); const sv = Y.encodeStateVector(d); root.set("contact", "2");
      return encodeSyncRequest({ stateVector: Y.encodeStateVector(d), update: Y.encodeStateAsUpdate(d, sv) }); } },
  { name: "deletes an item the edge never got (pending delete set)", reason: "pending_structs",
    craft: (s) => { const d = attackerDoc(s); const root = d.getMap("site:col_a"); root.set("contact", "1"); const sv = Y.encodeStateVector(d); root.delete("contact");
      return encodeSyncRequest({ stateVector: Y.encodeStateVector(d), update: Y.encodeStateAsUpdate(d, sv) }); } },
  { name: "grows the doc past the size cap", reason: "too_large", options: { maxDocBytes: 4096 },
    craft: (s) => { const d = attackerDoc(s); d.getMap("site:col_a").set("notes", "n".repeat(2000) + "x".repeat(2000)); return craftedBody(s, d); } },
  { name: "sends an update larger than the cap itself", reason: "too_large",
    craft: (s) => { const d = attackerDoc(s); d.getMap("site:col_a").set("notes", "y".repeat(300 * 1024)); return craftedBody(s, d); } },
];

/** The Yjs client id whose structs live under `root` in the edge's doc. */
function writerOf(server: ContractDocServer, root: string): number {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, server.encodeState());
  for (const [client, structs] of doc.store.clients) {
    const item = structs.find((s) => s instanceof Y.Item) as Y.Item | undefined;
    let type = item?.parent as Y.AbstractType<unknown> | undefined;
    while (type?._item) type = type._item.parent as Y.AbstractType<unknown>;
    if (type !== undefined && Y.findRootTypeKey(type) === root) return client;
  }
  throw new Error(`no writer of ${root}`);
}

describe("the edge refuses a collector's update that breaks DESIGN §8, and changes nothing", () => {
  for (const attack of attacks) {
    it(`refuses col_a's update that ${attack.name} (${attack.reason}); doc and storage stay byte-for-byte the same`, () => {
      const { server, storage } = populatedEdge(attack.options);
      const before = edgeFingerprint(server, storage);
      const json = JSON.stringify(server.read());
      expectRefused(server, "col_a", attack.craft(server), attack.reason);
      expect(edgeFingerprint(server, storage)).toBe(before);
      expect(JSON.stringify(server.read())).toBe(json);
    });
  }

  it("accepts the same kind of edit in the collector's own root (the attacks fail for the rule, not the mechanics)", () => {
    const { server, storage } = populatedEdge({ maxDocBytes: 4096 });
    const d = attackerDoc(server);
    d.getMap("site:col_a").set("contact", "ops@a.example");
    (d.getMap("site:col_a").get("cost_centres") as Y.Map<string>).set("mallory", "CC-7");
    const rows = storage.updates.length;
    server.sync("col_a", craftedBody(server, d));
    expect(storage.updates.length).toBe(rows + 1);
    expect(server.read().sites.col_a).toEqual({ site_name: "Plant A", contact: "ops@a.example", cost_centres: { alice: "CC-100", mallory: "CC-7" } });
  });

  it("a resent update (already applied) is accepted and adds no row", () => {
    const { server, storage } = populatedEdge();
    const d = attackerDoc(server);
    d.getMap("site:col_a").set("contact", "ops@a.example");
    const body = craftedBody(server, d);
    server.sync("col_a", body);
    const rows = storage.updates.length;
    server.sync("col_a", body);
    expect(storage.updates.length).toBe(rows);
  });

  it("rejects bodies that are not sync requests as malformed_doc_message, changing nothing", () => {
    const { server, storage } = populatedEdge();
    const before = edgeFingerprint(server, storage);
    const valid = craftedBody(server, (() => { const d = attackerDoc(server); d.getMap("site:col_a").set("contact", "c"); return d; })());
    const bodies = [new Uint8Array([]), new Uint8Array([2, 1, 0]), valid.slice(0, valid.length - 3), new Uint8Array([...valid, 0]),
      encodeSyncRequest({ stateVector: new Uint8Array([0]), update: new Uint8Array([9, 9, 9, 9, 9]) })];
    for (const body of bodies) {
      expect(() => server.sync("col_a", body)).toThrowError(expect.objectContaining({ code: "malformed_doc_message" }));
    }
    expect(edgeFingerprint(server, storage)).toBe(before);
  });

  it("a refused collector discards its replica, pulls again, and then matches the edge", () => {
    const { server, a } = populatedEdge({ maxDocBytes: 4096 });
    a.replica.writeSite({ notes: "z".repeat(5000) });
    expect(syncOnce(server, a.replica)).toBe("too_large");
    expect(a.replica.read()).toEqual(server.read());
    expect(a.replica.read().sites.col_a).toEqual({ site_name: "Plant A", cost_centres: { alice: "CC-100" } });
    expect(a.replica.hasUnsentEdits).toBe(false);
  });
});
