// Guarantee 3, part 2: who signed, for whom and when. Another collector's or another contract's
// batch, a fork after a VM snapshot restore (same seq, other content, properly signed), a forged
// key, a revoked collector and a key rotation out of order are each refused with their stable
// code at TAMPER_POSITIONS random positions (100; 1,000 with SOAK=1), over HTTP against the real
// edge, with no change to D1, the ContractDOs or the balances — except that a fork keeps its
// evidence and flags the collector (the only writes a refused batch may make, DESIGN.md §4).
import { afterAll, describe, it, expect } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { generateKeyPair, hashCanonical, signBatch, type Batch } from "../../../shared/protocol/index.ts";
import { call, contractStub, enrolledSite, NOW, ok, postBatch, SiteChain, type Site } from "../edge-fixture.ts";
import { between, budget, pick, runSeed, seededRandom } from "./budget.ts";
import { rechain, withRecords } from "./batch-tamper.ts";
import { attempt, Baseline, tracked, CHAIN_LENGTH, expectAllDetected, newTally, RECEIPTED, receiptedSite, summaryTable, window, type KindTally } from "./tamper-harness.ts";

const POSITIONS = budget(100, 1000);
const SEED = runSeed("tamper-identity");
const tallies: KindTally[] = [];
const TIMEOUT = { timeout: 600_000 };

afterAll(() => console.log(`[tamper] Guarantee 3 (identity), SEED=${SEED}\n${summaryTable(tallies)}`));

/** A second collector on the same contract as `site`, with as many records receipted. */
async function sibling(site: Site): Promise<Site> {
  const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${site.contractId}/enrollments`, { token: site.vendor.api_key }), 201);
  const keys = generateKeyPair();
  const enrollment = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: "plant-8" } }), 201);
  const other: Site = { ...site, collectorId: enrollment.collector_id, collectorToken: enrollment.collector_token, keys, chain: new SiteChain(enrollment.collector_id, keys.secretKey), enrollment };
  for (let i = 1; i <= RECEIPTED; i++) other.chain.usage({ session: `sibling-${i}` });
  await ok(await postBatch(other.collectorId, other.chain.batch(1, RECEIPTED)));
  return other;
}

/** `batch` claimed by `collectorId`: every collector_id rewritten, prevs re-linked, same signature. */
function claimedBy(batch: Batch, collectorId: string): Batch {
  const records = rechain(batch.records.map((r) => ({ ...r, collector_id: collectorId })));
  const moved = withRecords(batch, records);
  return { ...moved, checkpoint: { ...moved.checkpoint, collector_id: collectorId } };
}

async function evidenceCount(site: Site): Promise<number> {
  return runInDurableObject(contractStub(site.contractId), (_i, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM evidence WHERE collector_id = ?", site.collectorId).one().n);
}

describe("a batch from the wrong signer, place or time is refused and changes nothing", () => {
  it("another collector's batch (same contract or another contract): collector_mismatch or bad_signature", TIMEOUT, async () => {
    const random = seededRandom(SEED + 11);
    const a = await receiptedSite();
    const sameContract = await sibling(a);
    const otherContract = await receiptedSite(a.vendor);
    const otherVendor = await receiptedSite();
    const baseline = await Baseline.take({ sites: [a, sameContract, otherContract, otherVendor] });
    const tally = newTally("cross-collector / cross-contract replay"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const target = pick(random, [sameContract, otherContract, otherVendor]);
      const [from, to] = window(random, RECEIPTED, CHAIN_LENGTH);
      const genuine = a.chain.batch(from, to); // receipted already when to ≤ RECEIPTED: a replay elsewhere
      const rewrite = random() < 0.3;
      const label = `A's [${from},${to}] to ${target === sameContract ? "a collector of the same contract" : target === otherContract ? "another contract" : "another vendor's contract"}${rewrite ? ", collector_id rewritten" : ""}`;
      const sent = rewrite ? claimedBy(genuine, target.collectorId) : genuine;
      // Sites built alike can log the very same records: rewritten, A's batch is then the target's
      // own receipted batch byte for byte — a replay, not an attack. Draw another.
      if (rewrite && sent.records.every((r) => target.chain.records[r.seq - 1] !== undefined && hashCanonical(r) === hashCanonical(target.chain.records[r.seq - 1]))) { n--; continue; }
      await attempt(tally, baseline, label, () => postBatch(target.collectorId, sent), ["collector_mismatch", "bad_signature"]);
    }
    expectAllDetected(tally);
  });

  it("a fork after a snapshot restore (same seq, other content, properly signed): equivocation, evidence kept", TIMEOUT, async () => {
    const random = seededRandom(SEED + 12);
    const site = await receiptedSite();
    // A fork may write its evidence, the flag and the outbox row that carries the flag to D1. The
    // first fork sets the flag; after it, every fork may only add evidence (and an outbox row).
    const first = new SiteChain(site.collectorId, site.keys.secretKey);
    first.usage({ session: "first-fork" });
    expect((await postBatch(site.collectorId, first.batch(1, 1))).status).toBe(409);
    const baseline = await Baseline.take({ sites: [site], exclude: new Set(["evidence", "outbox"]) });
    const tally = newTally("fork after snapshot restore"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const restoredAt = between(random, 0, RECEIPTED - 1); // the snapshot held records 1..restoredAt
      const branch = new SiteChain(site.collectorId, site.keys.secretKey);
      branch.records.push(...site.chain.records.slice(0, restoredAt));
      for (let i = restoredAt + 1; i <= CHAIN_LENGTH; i++) branch.usage({ session: `restored-${n}-${i}`, count: between(random, 1, 9) });
      const from = between(random, 1, RECEIPTED + 1);
      const to = between(random, Math.max(from, restoredAt + 1), CHAIN_LENGTH);
      const evidenceBefore = await evidenceCount(site);
      const batch = branch.batch(from, to);
      const { status } = await attempt(tally, baseline, `restore at ${restoredAt}, branch [${from},${to}]`, () => postBatch(site.collectorId, batch), ["equivocation"], { withBalance: true });
      if (status === 409) expect(await evidenceCount(site)).toBe(evidenceBefore + 1);
    }
    expectAllDetected(tally);
    const state = await runInDurableObject(contractStub(site.contractId), (_i, s) => s.storage.sql.exec<{ flags_json: string; hwm: number }>("SELECT flags_json, hwm FROM chains").one());
    expect(state).toEqual({ flags_json: '["equivocation"]', hwm: RECEIPTED });
  });

  it("a forged key or signature: bad_signature", TIMEOUT, async () => {
    const random = seededRandom(SEED + 13);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("forged key"); tallies.push(tally);
    const mallory = generateKeyPair();
    for (let n = 0; n < POSITIONS; n++) {
      const from = between(random, 1, RECEIPTED + 1);
      const to = between(random, Math.max(from, RECEIPTED + 1), CHAIN_LENGTH); // at least one new record
      const genuine = site.chain.batch(from, to);
      const how = pick(random, ["other key", "random signature", "signature of another batch", "one bit flipped", "forged records, other key"] as const);
      let batch: Batch;
      switch (how) {
        case "other key": batch = site.chain.batch(from, to, mallory.secretKey); break;
        case "random signature": batch = { ...genuine, signature: Array.from({ length: 128 }, () => "0123456789abcdef"[between(random, 0, 15)]).join("") }; break;
        case "signature of another batch": batch = { ...genuine, signature: site.chain.batch(1, between(random, 1, RECEIPTED)).signature }; break;
        case "one bit flipped": {
          const at = between(random, 0, 127);
          const flipped = (parseInt(genuine.signature[at]!, 16) ^ (1 << between(random, 0, 3))).toString(16);
          batch = { ...genuine, signature: genuine.signature.slice(0, at) + flipped + genuine.signature.slice(at + 1) };
          break;
        }
        case "forged records, other key": {
          const records = rechain(genuine.records.map((r) => (r.seq > RECEIPTED ? { ...r, data: { ...r.data, count: 99 } } : r)));
          batch = signBatch(records, NOW, mallory.secretKey);
          break;
        }
      }
      await attempt(tally, baseline, `${how} over [${from},${to}]`, () => postBatch(site.collectorId, batch), ["bad_signature"]);
    }
    expectAllDetected(tally);
  });

  it("a revoked collector sending above its hwm at revocation: revoked", TIMEOUT, async () => {
    const random = seededRandom(SEED + 14);
    const site = await receiptedSite();
    await ok(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token: site.vendor.api_key }));
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("revoked key"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const from = between(random, 1, RECEIPTED + 1);
      const to = between(random, Math.max(from, RECEIPTED + 1), CHAIN_LENGTH);
      await attempt(tally, baseline, `revoked, [${from},${to}]`, () => postBatch(site.collectorId, site.chain.batch(from, to)), ["revoked"]);
    }
    expectAllDetected(tally);
  });

  it("a key rotation out of order: bad_signature (or malformed when the rotation is not its batch's last record)", TIMEOUT, async () => {
    const random = seededRandom(SEED + 15);
    // Site P: rotation at seq 25 pending (hwm 20). Site R: rotation at 25 receipted (hwm 25).
    const pending = tracked(await enrolledSite());
    const rotated = tracked(await enrolledSite(pending.vendor));
    const nextKeys = new Map<Site, string>();
    for (const s of [pending, rotated]) {
      const next = generateKeyPair();
      nextKeys.set(s, next.secretKey);
      for (let i = 1; i <= CHAIN_LENGTH; i++) {
        if (i === 25) s.chain.append({ kind: "key_rotation", data: { public_key: next.publicKey } });
        else s.chain.usage({ session: `k-${i}` });
      }
    }
    await ok(await postBatch(pending.collectorId, pending.chain.batch(1, RECEIPTED)));
    await ok(await postBatch(rotated.collectorId, rotated.chain.batch(1, 25)));
    const baseline = await Baseline.take({ sites: [pending, rotated] });
    const tally = newTally("rotation out of order"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const scenario = pick(random, ["rotation signed by the new key", "after the rotation, signed by the old key", "rotation inside a batch"] as const);
      let target: Site; let batch: Batch; let allowed: string[];
      if (scenario === "rotation signed by the new key") {
        target = pending; batch = pending.chain.batch(between(random, 1, RECEIPTED + 1), 25, nextKeys.get(pending)); allowed = ["bad_signature"];
      } else if (scenario === "after the rotation, signed by the old key") {
        target = rotated; batch = rotated.chain.batch(26, between(random, 26, CHAIN_LENGTH)); allowed = ["bad_signature"];
      } else {
        target = pick(random, [pending, rotated]);
        const from = between(random, 1, target === pending ? RECEIPTED + 1 : 25);
        batch = target.chain.batch(from, between(random, 26, CHAIN_LENGTH), pick(random, [target.keys.secretKey, nextKeys.get(target)!])); allowed = ["malformed"];
      }
      await attempt(tally, baseline, scenario, () => postBatch(target.collectorId, batch), allowed);
    }
    expectAllDetected(tally);
  });
});
