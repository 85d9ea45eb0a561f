// Moving a site's history between edges (docs/self-hosting.md "Moving between edges"): records/s
// of export + replay — `GET …/collectors/:cid/history` pages from core A posted to `POST
// …/collectors/:cid/replay` on core B, the way `core migrate` does it — beside the same batches
// ingested on core A by the site itself (the baseline, same run, same machine). Two cores, each
// on a fresh data dir (one directory holds a collector id once), both stopped at the end. The
// replay starts once A has drained the ingest into its D1 (A serves the export on the same cores).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import { coreBuild, freshSecrets, startCore } from "../../test/support/core-process.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { BATCH_RECORDS, batchBodies, enrolledCollector, post } from "./edge-ingest.ts";

async function call(method: string, url: string, key: string, body?: unknown): Promise<any> {
  const r = await fetch(url, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url} → ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Waits until core A's usage history holds every record's license time (its outbox drained). */
async function drained(url: string, contractId: string, key: string, bodies: string[]): Promise<void> {
  let seconds = 0, first = Infinity;
  for (const body of bodies) {
    for (const r of (JSON.parse(body) as { records: Array<{ data: { start: number; end: number; count: number } }> }).records) {
      seconds += ((r.data.end - r.data.start) / 1000) * r.data.count;
      first = Math.min(first, r.data.start);
    }
  }
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
  const range = `from=${iso(Math.floor(first / day) * day)}&to=${iso(Math.floor(Date.now() / day) * day + day)}`;
  for (let i = 0; i < 240; i++) {
    const usage: { items: Array<{ license_seconds: number }> } = await call("GET", `${url}/v1/contracts/${contractId}/usage?${range}`, key);
    if (usage.items.reduce((sum, item) => sum + item.license_seconds, 0) === seconds) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("core A's outbox did not drain within 60 s");
}

export default async function historyReplay(): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), "tally-bench-replay-"));
  const build = await coreBuild();
  const [secretsA, secretsB] = [freshSecrets(), freshSecrets()];
  const [a, b] = await Promise.all([startCore({ data: join(dir, "a"), secrets: secretsA, build }), startCore({ data: join(dir, "b"), secrets: secretsB, build })]);
  try {
    const vendorA = await post(`${a.url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), secretsA.ADMIN_TOKEN);
    const keys = generateKeyPair();
    const site = await enrolledCollector(a.url, vendorA.api_key, keys.publicKey);
    const bodies = batchBodies(site.collectorId, keys.secretKey);
    const t0 = performance.now();
    for (const body of bodies) await post(`${a.url}/v1/collectors/${site.collectorId}/batches`, body);
    const ingest = (bodies.length * BATCH_RECORDS) / ((performance.now() - t0) / 1000);
    // Core A's alarm drains those batches into its D1 after they are in: let it finish before the
    // replay is timed, or the replay pays for it (A answers the export's pages on the same cores).
    await drained(a.url, site.contractId, vendorA.api_key, bodies);

    const vendorB = await post(`${b.url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), secretsB.ADMIN_TOKEN);
    const customer = await call("POST", `${b.url}/v1/customers`, vendorB.api_key, { name: "Bench plant" });
    const plan = { model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" }, overage: { policy: "block" } };
    const contract = await call("POST", `${b.url}/v1/contracts`, vendorB.api_key, { customer_id: customer.id, plan, start: "2020-01-01", timezone: "UTC" });
    await call("PUT", `${b.url}/v1/contracts/${contract.id}/collectors/${site.collectorId}`, vendorB.api_key, { public_key: keys.publicKey, site: "bench", history_to_seq: bodies.length * BATCH_RECORDS });
    let pages = 0;
    const t1 = performance.now();
    for (let after: number | null = 0; after !== null; pages++) {
      const page: { next_after_seq: number | null } = await call("GET", `${a.url}/v1/contracts/${site.contractId}/collectors/${site.collectorId}/history?after_seq=${after}`, vendorA.api_key);
      await call("POST", `${b.url}/v1/contracts/${contract.id}/collectors/${site.collectorId}/replay`, vendorB.api_key, page);
      after = page.next_after_seq;
    }
    const replay = (bodies.length * BATCH_RECORDS) / ((performance.now() - t1) / 1000);
    const balance = await call("GET", `${b.url}/v1/contracts/${contract.id}/balance`, vendorB.api_key);
    if (balance.collectors[0].acked_seq !== bodies.length * BATCH_RECORDS) throw new Error(`replayed to ${balance.collectors[0].acked_seq}`);
    return [throughputFigure("history export + replay (core A → core B)", "records/s", replay, "the same batches ingested on core A", ingest,
      `${(bodies.length * BATCH_RECORDS).toLocaleString("en-US")} records in ${bodies.length} batches, ${pages} pages; both cores on this machine, same run`)];
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
