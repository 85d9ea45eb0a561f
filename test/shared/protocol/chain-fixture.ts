// Builds real signed chains for protocol tests.
import { generateKeyPair, hashCanonical, nextRecord, signBatch, ZERO_HASH, type ChainRecord, type RecordBody } from "../../../shared/protocol/index.ts";

export const COLLECTOR = "col_test1";

export function usageBody(i: number): RecordBody {
  const start = 1_764_280_000_000 + i * 60_000;
  return { kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: i % 2 ? "MATLAB" : "SIMULINK", user: `user${i % 5}`, host: "ws1", session: `s${i}`, start, end: start + 60_000, count: 1, final: true } };
}

export function buildChain(n: number, collectorId = COLLECTOR, from: { seq: number; hash: string } = { seq: 0, hash: ZERO_HASH }): ChainRecord[] {
  const out: ChainRecord[] = [];
  let head = from;
  for (let i = 0; i < n; i++) {
    const r = nextRecord(collectorId, head, 1_764_280_000_000 + head.seq * 1000, usageBody(head.seq + 1));
    out.push(r);
    head = { seq: r.seq, hash: hashCanonical(r) };
  }
  return out;
}

export const site = generateKeyPair();
export const attacker = generateKeyPair();
export const sign = (records: ChainRecord[], key = site.secretKey) => signBatch(records, 1_764_290_000_000, key);
/** A deep copy, so tampering never touches the original. */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
