// Bench aid only (not product code): the request kinds whose CPU the edge-cpu bench and
// edge-cpu-profile.ts measure on a local edge — the refusals the malformed-input fuzz sends most
// (bad JSON, bad credentials, unknown fields, a wrong content type), an accepted signed batch, a
// balance read and a usage read — plus GET /health as the floor every request pays.
// Node-only and free of parameter properties: the bench runs it with Node's type stripping.
import type { LocalEdge } from "../../test/support/local-edge.ts";
import { enrollLoadFleet } from "../../test/support/load-sites.ts";
import { testNow } from "../../test/support/test-clock.ts";

const HOUR = 3600_000;

export interface RequestKind {
  name: string;
  /** The status every request of this kind must answer (a run with another is not a measurement). */
  status: number;
  /** The i-th request of this kind (batches are a chain: each is sent once, in order). */
  request(i: number): { path: string; init: RequestInit };
}

export interface EdgeMix { kinds: RequestKind[]; batches: number }

/** Enrolls one site with `batches` signed batches of `records` records each and returns the kinds. */
export async function edgeMix(edge: LocalEdge, batches: number, records = 20): Promise<EdgeMix> {
  const fleet = await enrollLoadFleet(edge.url, edge.adminToken, { contracts: 1, sitesPerContract: 1, batchesPerSite: batches, recordsPerBatch: records, seed: 5 });
  const contract = fleet.contracts[0]!;
  const site = contract.sites[0]!;
  const vendor = { authorization: `Bearer ${fleet.vendorKey}` };
  const json = { "content-type": "application/json" };
  const customer = await (await fetch(`${edge.url}/v1/contracts/${contract.contractId}`, { headers: vendor })).json() as { customer_id: string };
  // The fleet's contract starts on the date of its first record, about 20 h before now.
  const from = new Date(Math.floor((testNow() - 20 * HOUR) / HOUR) * HOUR).toISOString().slice(0, 10) + "T00:00:00Z";
  const to = new Date(Math.floor(testNow() / HOUR) * HOUR).toISOString().replace(".000", "");
  const batchPath = `/v1/collectors/${site.collectorId}/batches`;
  const kinds: RequestKind[] = [
    { name: "GET /health", status: 200, request: () => ({ path: "/health", init: {} }) },
    { name: "batch POST, bad JSON (400)", status: 400, request: () => ({ path: batchPath, init: { method: "POST", headers: json, body: '{"records": [1, 2,' } }) },
    { name: "balance, bad credentials (401)", status: 401, request: () => ({ path: `/v1/contracts/${contract.contractId}/balance`, init: { headers: { authorization: "Bearer tk_live_notakey" } } }) },
    { name: "contract POST, unknown field (422)", status: 422, request: () => ({
      path: "/v1/contracts",
      init: { method: "POST", headers: { ...vendor, ...json }, body: JSON.stringify({ customer_id: customer.customer_id, plan: {}, start: "2026-01-01", timezone: "UTC", colour: "blue" }) },
    }) },
    { name: "customer POST, text/plain (415)", status: 415, request: () => ({ path: "/v1/customers", init: { method: "POST", headers: { ...vendor, "content-type": "text/plain" }, body: "name=Plant" } }) },
    { name: `batch POST, accepted (${records} records)`, status: 200, request: (i) => ({ path: batchPath, init: { method: "POST", headers: json, body: site.bodies[i]! } }) },
    { name: "GET balance", status: 200, request: () => ({ path: `/v1/contracts/${contract.contractId}/balance`, init: { headers: vendor } }) },
    { name: "GET usage by feature", status: 200, request: () => ({ path: `/v1/contracts/${contract.contractId}/usage?from=${from}&to=${to}&group_by=feature`, init: { headers: vendor } }) },
  ];
  return { kinds, batches };
}

/** Sends request i of `kind` and checks its status. */
export async function send(edge: LocalEdge, kind: RequestKind, i: number): Promise<void> {
  const { path, init } = kind.request(i);
  const r = await fetch(edge.url + path, init);
  const text = await r.text();
  if (r.status !== kind.status) throw new Error(`${kind.name} #${i}: HTTP ${r.status} (expected ${kind.status}) ${text.slice(0, 300)}`);
}
