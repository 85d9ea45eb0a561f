// Replays of old batches (guarantee 2): batch bodies the edge once answered 200, sent again
// months later in random order, some gzip-encoded and some not; and the view of a contract that
// such replays must leave byte-identical (balance, sites, customer status), read at a given
// edge time through `X-Tally-Now` (honoured by development and test edges).
import { gunzipSync, gzipSync } from "node:zlib";
import type { CapturedBatch } from "../../support/fault-proxy.ts";
import { forEachBounded } from "../../support/bounded.ts";
import type { FleetContract } from "./fleet.ts";

export const MONTH_MS = 30 * 24 * 3600_000;

/** Raw answer bodies by request, exactly as the edge sent them. */
export type EdgeView = Record<string, string>;

async function getText(url: string, headers: Record<string, string>): Promise<string> {
  const r = await fetch(url, { headers });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text;
}

export async function readView(edgeUrl: string, contracts: readonly FleetContract[], now: number): Promise<EdgeView> {
  const view: EdgeView = {};
  const clock = { "X-Tally-Now": String(now) };
  for (const c of contracts) {
    const vendor = { ...clock, authorization: `Bearer ${c.vendorKey}` };
    view[`${now} balance ${c.contractId}`] = await getText(`${edgeUrl}/v1/contracts/${c.contractId}/balance`, vendor);
    view[`${now} sites ${c.contractId}`] = await getText(`${edgeUrl}/v1/contracts/${c.contractId}/collectors?limit=100`, vendor);
    view[`${now} status ${c.contractId}`] = await getText(`${edgeUrl}/status/${c.statusToken}`, { ...clock, accept: "application/json" });
  }
  return view;
}

export interface ReplayAnswer { path: string; encoding: "gzip" | "identity"; status: number; text: string }

/** Sends every captured body again, shuffled, each randomly gzip-encoded or plain JSON, with
 *  the edge clock at `now` (give or take a day). */
export async function replayBatches(edgeUrl: string, captured: readonly CapturedBatch[], opts: { random: () => number; now: number; concurrency: number }): Promise<ReplayAnswer[]> {
  const order = captured.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(opts.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const plan = order.map((i) => {
    const batch = captured[i]!;
    const json = batch.contentEncoding === "gzip" ? gunzipSync(batch.body) : batch.body;
    const gzip = opts.random() < 0.5;
    return { path: batch.path, gzip, body: gzip ? gzipSync(json) : json, now: opts.now + Math.floor(opts.random() * 24 * 3600_000) };
  });
  const answers: ReplayAnswer[] = new Array(plan.length);
  await forEachBounded(plan, opts.concurrency, async (p, i) => {
    const headers: Record<string, string> = { "content-type": "application/json", "X-Tally-Now": String(p.now) };
    if (p.gzip) headers["content-encoding"] = "gzip";
    const r = await fetch(edgeUrl + p.path, { method: "POST", headers, body: p.body });
    answers[i] = { path: p.path, encoding: p.gzip ? "gzip" : "identity", status: r.status, text: await r.text() };
  });
  return answers;
}
