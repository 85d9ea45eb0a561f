import { describe, expect, it } from "vitest";
import { canonicalBytes, hashCanonical, hashCanonicalAll, initialChainState, nextRecord, signBatch, verifyBatch, type ChainRecord, type ChainState, type VerifyResult } from "../../../shared/protocol/index.ts";
import { generateKeyPair, protocolErrorStatus } from "../../../shared/protocol/index.ts";
import { attacker, buildChain, clone, COLLECTOR, sign, site } from "./chain-fixture.ts";

/** An edge in miniature: chain state + stored hashes, applying results the way the DO does. */
function edge(publicKey = site.publicKey) {
  let state: ChainState = initialChainState(COLLECTOR, publicKey);
  const hashes = new Map<number, string>();
  return {
    get state() { return state; },
    revoke() { state = { ...state, revoked_at_seq: state.hwm }; },
    send(body: unknown): VerifyResult {
      const result = verifyBatch(state, clone(body), (seq) => hashes.get(seq));
      if (result.ok) {
        for (const h of result.accepted) hashes.set(h.record.seq, h.hash);
        state = result.state;
      }
      return result;
    },
  };
}
const code = (r: VerifyResult) => (r.ok ? (r.replay ? "replay" : "ok") : r.error.error);

describe("verifyBatch", () => {
  it("hashes computed beforehand by native SHA-256 (hashCanonicalAll) are hashCanonical's, and verify the same", async () => {
    const chain = buildChain(20);
    const hashes = await hashCanonicalAll(chain);
    expect(hashes).toEqual(chain.map((r) => ({ hash: hashCanonical(r), size: canonicalBytes(r).length })));
    const body = sign(chain);
    const state = initialChainState(COLLECTOR, site.publicKey);
    expect(verifyBatch(state, clone(body), () => undefined, hashes)).toEqual(verifyBatch(state, clone(body), () => undefined));
    // Unicode and escapes go through the same canonical bytes.
    const odd = [{ s: "é\u2028\"\\\n😀", n: -42, a: [true, null] }, "x", 0];
    expect((await hashCanonicalAll(odd)).map((h) => h.hash)).toEqual(odd.map((v) => hashCanonical(v)));
  });

  it("accepts a fresh chain in several batches and advances the head", () => {
    const e = edge();
    const chain = buildChain(10);
    expect(code(e.send(sign(chain.slice(0, 4))))).toBe("ok");
    expect(code(e.send(sign(chain.slice(4))))).toBe("ok");
    expect(e.state.hwm).toBe(10);
    expect(e.state.head).toBe(hashCanonical(chain[9]));
  });

  it("a replayed batch answers with the current hwm and changes nothing", () => {
    const e = edge();
    const chain = buildChain(6);
    const first = sign(chain.slice(0, 3));
    e.send(first);
    e.send(sign(chain.slice(3)));
    const before = e.state;
    const r = e.send(first);
    expect(code(r)).toBe("replay");
    expect(e.state).toEqual(before);
  });

  it("an overlapping resend applies only the new records", () => {
    const e = edge();
    const chain = buildChain(6);
    e.send(sign(chain.slice(0, 3)));
    const r = e.send(sign(chain.slice(1, 6)));
    expect(r.ok && r.accepted.map((h) => h.record.seq)).toEqual([4, 5, 6]);
  });

  it("an edited field inside a batch is a prev_mismatch at the next record", () => {
    const chain = buildChain(5);
    const batch = clone(sign(chain));
    (batch.records[2]!.data as { count: number }).count = 7;
    const r = edge().send(batch);
    expect(!r.ok && r.error).toMatchObject({ error: "prev_mismatch", seq: 4 });
  });

  it("an edited last record no longer matches the checkpoint (malformed), and a re-headed checkpoint fails its signature", () => {
    const chain = buildChain(3);
    const batch = clone(sign(chain));
    (batch.records[2]!.data as { user: string }).user = "someone-else";
    expect(code(edge().send(batch))).toBe("malformed");
    batch.checkpoint.head = hashCanonical(batch.records[2]);
    expect(code(edge().send(batch))).toBe("bad_signature");
  });

  it("a deleted first record is a gap with the expected seq", () => {
    const chain = buildChain(5);
    const e = edge();
    e.send(sign(chain.slice(0, 2)));
    const r = e.send(sign(chain.slice(3)));
    expect(!r.ok && r.error).toMatchObject({ error: "gap", expected_seq: 3 });
  });

  it("a batch past hwm+1 is a gap whoever signed it (the signer is unknowable past the gap); filled, a forged one is bad_signature", () => {
    const chain = buildChain(5);
    const e = edge();
    e.send(sign(chain.slice(0, 2)));
    const forged = e.send(sign(chain.slice(3), attacker.secretKey));
    expect(!forged.ok && forged.error).toMatchObject({ error: "gap", expected_seq: 3 });
    const genuine = e.send(sign(chain.slice(3)));
    expect(!genuine.ok && genuine.error).toMatchObject({ error: "gap", expected_seq: 3 });
    expect(e.send(sign(chain.slice(2, 3))).ok).toBe(true);
    expect(code(e.send(sign(chain.slice(3), attacker.secretKey)))).toBe("bad_signature");
    expect(e.send(sign(chain.slice(3))).ok).toBe(true);
  });

  it("a record over 64 KiB of canonical bytes is record_too_large (413) with its seq; exactly 64 KiB is accepted", () => {
    const sized = (bytes: number): ChainRecord[] => {
      const probe = nextRecord(COLLECTOR, { seq: 0, hash: "0".repeat(64) }, 1_764_280_000_000, { kind: "heartbeat", data: { sources: [], pad: "" } } as never);
      const fixed = new TextEncoder().encode(JSON.stringify(probe)).length;
      return [nextRecord(COLLECTOR, { seq: 0, hash: "0".repeat(64) }, 1_764_280_000_000, { kind: "heartbeat", data: { sources: [], pad: "x".repeat(bytes - fixed) } } as never)];
    };
    expect(code(edge().send(sign(sized(65_536))))).toBe("ok");
    const r = edge().send(sign(sized(65_537)));
    expect(!r.ok && r.error).toMatchObject({ error: "record_too_large", seq: 1 });
    expect(protocolErrorStatus.record_too_large).toBe(413);
  });

  it("a deleted middle record is malformed (seq not contiguous); renumbered it is a prev_mismatch", () => {
    const chain = buildChain(5);
    const holed = [chain[0]!, chain[1]!, chain[3]!, chain[4]!];
    expect(code(edge().send(sign(holed)))).toBe("malformed");
    const renumbered = holed.map((r, i) => ({ ...r, seq: i + 1 }));
    expect(code(edge().send(sign(renumbered)))).toBe("prev_mismatch");
  });

  it("swapped and inserted records are caught", () => {
    const chain = buildChain(4);
    const swapped = [chain[0]!, chain[2]!, chain[1]!, chain[3]!].map((r, i) => ({ ...r, seq: i + 1 }));
    expect(code(edge().send(sign(swapped)))).toBe("prev_mismatch");
    const intruder = nextRecord(COLLECTOR, { seq: 1, hash: hashCanonical(chain[0]) }, 1, { kind: "heartbeat", data: { sources: [] } });
    const inserted = [chain[0]!, intruder, ...chain.slice(1).map((r) => ({ ...r, seq: r.seq + 1 }))];
    expect(code(edge().send(sign(inserted)))).toBe("prev_mismatch");
  });

  it("a fork after a snapshot restore is an equivocation with evidence, and the state is unchanged", () => {
    const e = edge();
    const chain = buildChain(4);
    e.send(sign(chain));
    const restored = buildChain(2);
    const forkRecords = [...restored, ...buildChain(3, COLLECTOR, { seq: 2, hash: hashCanonical(restored[1]) })];
    (forkRecords[2]!.data as { user: string }).user = "after-restore";
    const forkChain = rechain(forkRecords);
    const before = e.state;
    const r = e.send(sign(forkChain.slice(2)));
    expect(!r.ok && r.error).toMatchObject({ error: "equivocation", seq: 3 });
    expect(!r.ok && r.evidence?.stored_hash).toBe(hashCanonical(chain[2]));
    expect(e.state).toEqual(before);
  });

  it("a fork that starts above the hwm (first new prev ≠ stored head) is an equivocation", () => {
    const e = edge();
    const chain = buildChain(3);
    e.send(sign(chain));
    const other = buildChain(1, COLLECTOR, { seq: 3, hash: "ab".repeat(32) });
    expect(code(e.send(sign(other)))).toBe("equivocation");
  });

  it("a forged signature is bad_signature", () => {
    expect(code(edge().send(sign(buildChain(3), attacker.secretKey)))).toBe("bad_signature");
  });

  it("a revoked collector cannot add records, but replays of what was receipted still answer", () => {
    const e = edge();
    const chain = buildChain(4);
    const first = sign(chain.slice(0, 2));
    e.send(first);
    e.revoke();
    expect(code(e.send(sign(chain.slice(2))))).toBe("revoked");
    expect(code(e.send(first))).toBe("replay");
  });

  it("another collector's records are collector_mismatch", () => {
    expect(code(edge().send(sign(buildChain(2, "col_other"))))).toBe("collector_mismatch");
  });

  it("more than 5,000 records is batch_too_large; an empty or misshapen batch is malformed", () => {
    expect(code(edge().send({ records: new Array(5001).fill({}), checkpoint: {}, signature: "" }))).toBe("batch_too_large");
    expect(code(edge().send({ records: [], checkpoint: {}, signature: "" }))).toBe("malformed");
    const batch = clone(sign(buildChain(1)));
    (batch.records[0] as Record<string, unknown>).extra = 1;
    expect(code(edge().send(batch))).toBe("malformed");
  });

  it("a key rotation takes effect from the record after it; a batch out of order is bad_signature", () => {
    const e = edge();
    const next = generateKeyPair();
    const chain = buildChain(2);
    const rotation = nextRecord(COLLECTOR, { seq: 2, hash: hashCanonical(chain[1]) }, 1, { kind: "key_rotation", data: { public_key: next.publicKey } });
    const after = buildChain(2, COLLECTOR, { seq: 3, hash: hashCanonical(rotation) });
    // The new key before the rotation is receipted: refused.
    expect(code(e.send(signBatch([...chain, rotation], 1, next.secretKey)))).toBe("bad_signature");
    expect(code(e.send(signBatch([...chain, rotation], 1, site.secretKey)))).toBe("ok");
    expect(code(e.send(signBatch(after, 1, site.secretKey)))).toBe("bad_signature");
    expect(code(e.send(signBatch(after, 1, next.secretKey)))).toBe("ok");
    expect(e.state.hwm).toBe(5);
  });

  it("a key rotation that is not the batch's last record is malformed", () => {
    const chain = buildChain(1);
    const rotation = nextRecord(COLLECTOR, { seq: 1, hash: hashCanonical(chain[0]) }, 1, { kind: "key_rotation", data: { public_key: site.publicKey } });
    const tail = buildChain(1, COLLECTOR, { seq: 2, hash: hashCanonical(rotation) });
    expect(code(edge().send(sign([...chain, rotation, ...tail])))).toBe("malformed");
  });
});

/** Recomputes every prev link after an edit (what a site holding its own key could do). */
function rechain(records: ChainRecord[]): ChainRecord[] {
  const out: ChainRecord[] = [];
  for (const r of records) {
    const prev = out.length ? hashCanonical(out[out.length - 1]) : r.prev;
    out.push({ ...r, prev });
  }
  return out;
}
