// A site without a collector process: an enrolled key pair that builds and signs its own chain,
// for tests that need exact control over batches (the core's suites, which run under production
// rules and so without an injected clock). Usage intervals are one second long, placed in the
// last ten minutes, so every record lands in the open period of a contract that started
// yesterday (UTC), whatever the date and time the suite runs.
import { generateKeyPair, hashCanonical, nextRecord, signBatch, type Batch, type ChainRecord } from "../../shared/protocol/index.ts";
import { edgeRequest, payPerUsePlan } from "./local-edge.ts";
import { realNow } from "./test-clock.ts";

export interface Tenant { vendorKey: string; customerId: string }

export async function newTenant(edge: { url: string; adminToken: string }, name = "Core Vendor"): Promise<Tenant> {
  const vendor = await edgeRequest<{ api_key: string }>(edge, "POST", "/v1/vendors", edge.adminToken, { name });
  const customer = await edgeRequest<{ id: string }>(edge, "POST", "/v1/customers", vendor.api_key, { name: `${name} customer` });
  return { vendorKey: vendor.api_key, customerId: customer.id };
}

/** A contract (default: pay-per-use, 1 unit per license-hour) that started yesterday, UTC. */
export async function newContract(edge: { url: string }, tenant: Tenant, plan: unknown = payPerUsePlan()): Promise<string> {
  const start = new Date(realNow() - 86_400_000).toISOString().slice(0, 10);
  const contract = await edgeRequest<{ id: string }>(edge, "POST", "/v1/contracts", tenant.vendorKey, {
    customer_id: tenant.customerId, plan, start, timezone: "UTC",
  });
  return contract.id;
}

export class SignedSite {
  readonly collectorId: string;
  readonly contractId: string;
  readonly secretKey: string;
  /** Every record made so far, in order (records[i].seq === i + 1). */
  readonly records: ChainRecord[] = [];
  #head = { seq: 0, hash: "0".repeat(64) };
  /** When the usage starts (default: ten minutes ago). */
  readonly #base: number;

  constructor(collectorId: string, contractId: string, secretKey: string, base = realNow() - 10 * 60_000) {
    this.collectorId = collectorId;
    this.contractId = contractId;
    this.secretKey = secretKey;
    this.#base = base;
  }

  static async enroll(edge: { url: string }, tenant: Tenant, contractId: string, site = "core test site", base?: number): Promise<SignedSite> {
    const { enrollment_token } = await edgeRequest<{ enrollment_token: string }>(edge, "POST", `/v1/contracts/${contractId}/enrollments`, tenant.vendorKey, {});
    return SignedSite.enrollWith(edge, enrollment_token, contractId, site, base);
  }

  /** Enrolls with a token made elsewhere (e.g. by `core migrate`). */
  static async enrollWith(edge: { url: string }, enrollment_token: string, contractId: string, site = "core test site", base?: number): Promise<SignedSite> {
    const keys = generateKeyPair();
    const enrolled = await edgeRequest<{ collector_id: string }>(edge, "POST", "/v1/enroll", undefined, { enrollment_token, public_key: keys.publicKey, site });
    return new SignedSite(enrolled.collector_id, contractId, keys.secretKey, base);
  }

  /** `n` more usage records (one second × `count` licenses each), signed as one batch. */
  batch(n: number, count = 1): Batch {
    const made: ChainRecord[] = [];
    for (let i = 0; i < n; i++) {
      const seq = this.#head.seq + 1;
      const start = Math.floor(this.#base / 1000) * 1000 + (seq % 500) * 1000;
      const record = nextRecord(this.collectorId, this.#head, start + 2000, { kind: "usage", data: {
        source: "core-test", daemon: "MLM", feature: `F${seq % 5}`, user: `u${seq % 17}`, host: `h${seq % 7}`,
        session: `s${seq}`, start, end: start + 1000, count, final: true,
      } });
      this.#head = { seq, hash: hashCanonical(record) };
      made.push(record);
      this.records.push(record);
    }
    return signBatch(made, realNow(), this.secretKey);
  }

  /** Records from…to (made earlier) signed again as one batch: a site resending after a restore. */
  resend(from: number, to: number): Batch {
    return signBatch(this.records.slice(from - 1, to), realNow(), this.secretKey);
  }

  /** License-seconds of records 1…seq. */
  licenseSeconds(seq = this.records.length): number {
    return this.records.slice(0, seq).reduce((s, r) => s + (r.data as { count: number }).count, 0);
  }
}

export interface BatchAnswer { status: number; body: { receipt?: { acked_seq: number; key_id: string; head: string }; signature?: string; error?: string } }

export async function postBatch(edge: { url: string }, site: SignedSite, batch: Batch, headers: Record<string, string> = {}): Promise<BatchAnswer> {
  const r = await fetch(`${edge.url}/v1/collectors/${site.collectorId}/batches`, {
    method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(batch),
  });
  return { status: r.status, body: await r.json() as BatchAnswer["body"] };
}
