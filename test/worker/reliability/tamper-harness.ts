// The bookkeeping of the tamper matrix (Guarantee 3): a site with a receipted chain, one
// tampered request per position, and the proof that it was refused with an allowed code and
// left D1, the contract's Durable Object and the balance exactly as they were.
import { expect } from "vitest";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, contractStub, enrolledSite, ok, postBatch, type Site } from "../edge-fixture.ts";
import { changedTables, edgeDigest, type Digest, type Exclusions } from "./state-digest.ts";
import { between, type Random } from "./budget.ts";

/** Records written per site, and how many of them are receipted before the attacks. */
export const CHAIN_LENGTH = 40;
export const RECEIPTED = 20;

export interface KindTally { kind: string; tried: number; detected: number; codes: Record<string, number>; failures: string[] }

export async function balanceOf(site: Site): Promise<unknown> {
  return ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
}

/** Every contract this test file created: D1 is shared by the file, so a baseline waits until
 * all of their outbox drains have run (a late drain would look like a change). */
const contractsInFile = new Set<string>();
export function tracked(site: Site): Site {
  contractsInFile.add(site.contractId);
  return site;
}

/** A site whose first RECEIPTED records are receipted and whose next ones wait to be sent. */
export async function receiptedSite(vendor?: Site["vendor"]): Promise<Site> {
  const site = tracked(await enrolledSite(vendor));
  for (let i = 1; i <= CHAIN_LENGTH; i++) {
    // Every record distinct (heartbeats carry their own time), so no swap or deletion of records
    // can rebuild the genuine chain by accident.
    if (i % 10 === 0) site.chain.append({ kind: "heartbeat", data: { sources: [{ source: "flexlm", up: true, at: Date.UTC(2026, 10, 27, 8) + i * 1000 }] } });
    else site.chain.usage({ count: 1 + (i % 3), user: i % 2 ? "ada" : "grace" });
  }
  await ok(await postBatch(site.collectorId, site.chain.batch(1, RECEIPTED)));
  return site;
}

/** A window [a, b] of a chain whose hwm is `hwm`: it connects to what is stored (a ≤ hwm + 1). */
export function window(random: Random, hwm: number, last: number, minLength = 1): [number, number] {
  const a = between(random, 1, hwm + 1);
  return [a, between(random, Math.min(last, a + minLength - 1), last)];
}

export interface Watch { sites: Site[]; exclude?: Exclusions }

/**
 * Waits until every tracked contract's outbox is empty. Running the alarm is not enough: workerd
 * may already be running the real one (armed 1 s after a batch), and `runDurableObjectAlarm`
 * answers false while it does; a digest taken mid-drain would then look like a change. An empty
 * outbox is quiet: a drain deletes its row only after its D1 writes, so the alarm runs only for a
 * contract with rows (after a refused request, none: one read per contract instead of two calls).
 */
async function quiesce(): Promise<void> {
  for (const id of contractsInFile) {
    const stub = contractStub(id);
    for (let i = 0; ; i++) {
      const pending = await runInDurableObject(stub, (_o, state: DurableObjectState) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
      if (pending === 0) break;
      if (i === 400) throw new Error(`the outbox of ${id} never drained`);
      if (!(await runDurableObjectAlarm(stub))) await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The state a refused request must leave untouched. */
export class Baseline {
  readonly watch: Watch;
  readonly digest: Digest;
  readonly balances: unknown[];
  private constructor(watch: Watch, digest: Digest, balances: unknown[]) {
    this.watch = watch; this.digest = digest; this.balances = balances;
  }

  static async take(watch: Watch): Promise<Baseline> {
    for (const s of watch.sites) tracked(s);
    await quiesce();
    const contracts = [...new Set(watch.sites.map((s) => s.contractId))];
    return new Baseline(watch, await edgeDigest(contracts, watch.exclude), await Promise.all(watch.sites.map(balanceOf)));
  }

  /** Tables that differ now (balances compared when `withBalance`, they are slower to read). */
  async changes(withBalance: boolean): Promise<string[]> {
    await quiesce();
    const contracts = [...new Set(this.watch.sites.map((s) => s.contractId))];
    const changed = changedTables(this.digest, await edgeDigest(contracts, this.watch.exclude));
    if (withBalance) {
      const balances = await Promise.all(this.watch.sites.map(balanceOf));
      balances.forEach((b, i) => { if (JSON.stringify(b) !== JSON.stringify(this.balances[i])) changed.push(`balance of ${this.watch.sites[i]!.contractId}`); });
    }
    return changed;
  }
}

export function newTally(kind: string): KindTally {
  return { kind, tried: 0, detected: 0, codes: {}, failures: [] };
}

/** One attack: the answer's code must be in `allowed` and nothing watched may change. */
export async function attempt(
  tally: KindTally, baseline: Baseline, label: string, send: () => Promise<Response>,
  allowed: readonly string[], options: { withBalance?: boolean; status?: number } = {},
): Promise<{ status: number; body: any }> {
  tally.tried++;
  const res = await send();
  const text = await res.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = { unparsed: text.slice(0, 200) }; }
  const code = res.status === 200 ? "200 (replay receipt)" : String(body.error);
  const changes = await baseline.changes(options.withBalance ?? tally.tried % 10 === 0);
  const codeOk = allowed.includes(code) && (res.status === 200 || typeof body.message === "string");
  if (codeOk && changes.length === 0) {
    tally.detected++;
    tally.codes[code] = (tally.codes[code] ?? 0) + 1;
  } else {
    tally.failures.push(`${label}: ${res.status} ${text.slice(0, 160)}${changes.length ? `; changed ${changes.join(", ")}` : ""}`);
  }
  return { status: res.status, body };
}

/** Every position detected, with a clear list of the ones that were not. */
export function expectAllDetected(tally: KindTally): void {
  console.log(`[tamper] ${tally.kind}: ${tally.detected}/${tally.tried} detected ${JSON.stringify(tally.codes)}`);
  expect(tally.failures.slice(0, 10)).toEqual([]);
  expect(tally.detected).toBe(tally.tried);
}

/** The Guarantee 3 table, as printed and copied into docs/guarantees.md. */
export function summaryTable(tallies: KindTally[]): string {
  const rows = tallies.map((t) => `| ${t.kind} | ${t.tried} | ${t.detected} | ${Object.entries(t.codes).map(([c, n]) => `\`${c}\` ×${n}`).join(", ")} |`);
  return ["| kind | positions tried | detected | code(s) |", "|---|---|---|---|", ...rows].join("\n");
}
