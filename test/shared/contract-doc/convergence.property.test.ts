import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContractDocReplica, ContractDocServer, MemoryContractDocStorage, type SiteInfo, type SitePatch } from "../../../shared/contract-doc/index.ts";
import { testSeed } from "../../support/seed.ts";
import { balanceAt, dayOfWeek, MemoryReplicaStore, syncOnce, TERMS } from "./fixture.ts";

const COLLECTORS = ["col_a", "col_b", "col_c"] as const;
const who = fc.constantFrom(0, 1, 2);
const text = fc.constantFrom("x", "Plant A", "Lab B", "ops@site.example", "");
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });

const patchArb: fc.Arbitrary<SitePatch> = fc.record({
  site_name: maybe(text), contact: maybe(text), notes: maybe(text),
  cost_centres: fc.dictionary(fc.constantFrom("alice", "bob", "carol"), maybe(fc.constantFrom("CC-1", "CC-2"))),
}, { requiredKeys: [] });

type Op =
  | { kind: "site"; who: number; patch: SitePatch }
  | { kind: "balance"; remaining: number }
  | { kind: "terms"; unit: string }
  | { kind: "sync"; who: number }
  | { kind: "restart"; who: number }
  | { kind: "evict" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("site" as const), who, patch: patchArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("balance" as const), remaining: fc.nat(1000) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("terms" as const), unit: fc.constantFrom("token", "credit") }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("sync" as const), who }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("restart" as const), who }), weight: 1 },
  { arbitrary: fc.constant<Op>({ kind: "evict" }), weight: 1 },
);

/** The site root as a single writer applying its patches in order would leave it. */
function applyToModel(site: SiteInfo & { present?: boolean }, patch: SitePatch): void {
  for (const field of ["site_name", "contact", "notes"] as const) {
    const value = patch[field];
    if (value === null) delete site[field];
    else if (value !== undefined) site[field] = value;
  }
  const entries = Object.entries(patch.cost_centres ?? {});
  if (entries.length > 0) site.present = true;
  for (const [user, centre] of entries) {
    if (centre === null) delete site.cost_centres[user];
    else site.cost_centres[user] = centre;
  }
}

describe("random interleavings of site edits and edge writes converge", () => {
  it("after everyone syncs, the edge and every replica hold identical JSON: each site's last edits, the edge's last terms and balance", () => {
    const seed = testSeed("contract-doc convergence");
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const storage = new MemoryContractDocStorage();
        const options = { compactAfterRows: 7 };
        let server = ContractDocServer.load(storage, options);
        server.writeTerms(TERMS);
        const stores = COLLECTORS.map(() => new MemoryReplicaStore());
        const replicas = COLLECTORS.map((id, i) => ContractDocReplica.open(stores[i]!, id));
        const models = COLLECTORS.map(() => ({ cost_centres: {} } as SiteInfo & { present?: boolean }));
        let balance = null as ReturnType<typeof balanceAt> | null;
        let unit = TERMS.unit_name;
        ops.forEach((op, step) => {
          switch (op.kind) {
            case "site": replicas[op.who]!.writeSite(op.patch); applyToModel(models[op.who]!, op.patch); break;
            case "balance": balance = balanceAt(dayOfWeek(0, step), String(op.remaining), { col_a: step }); server.writeBalance(balance); break;
            case "terms": unit = op.unit; server.writeTerms({ ...TERMS, unit_name: op.unit }); break;
            case "sync": expect(syncOnce(server, replicas[op.who]!)).toBeNull(); break;
            case "restart": replicas[op.who] = ContractDocReplica.open(stores[op.who]!, COLLECTORS[op.who]!); break;
            case "evict": server = ContractDocServer.load(storage, options); break;
          }
        });
        for (const replica of replicas) expect(syncOnce(server, replica)).toBeNull();
        for (const replica of replicas) expect(syncOnce(server, replica)).toBeNull();

        const sites: Record<string, SiteInfo> = {};
        models.forEach(({ present, ...site }, i) => {
          if (present || Object.keys(site).length > 1) sites[COLLECTORS[i]!] = site;
        });
        const expected = { terms: { ...TERMS, unit_name: unit }, balance, sites };
        expect(server.read()).toEqual(expected);
        for (const replica of replicas) {
          expect(replica.read()).toEqual(expected);
          expect(replica.hasUnsentEdits).toBe(false);
        }
        expect(ContractDocServer.load(storage, options).read()).toEqual(expected);
      }),
      { seed, numRuns: 150 },
    );
  });
});
