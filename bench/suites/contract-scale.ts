// A contract at real size (issue 10): does the ContractDO's cost follow the work or the history?
// Two contracts on one `wrangler dev`: A is fed CONTRACT_SCALE_RECORDS (default 500,000) usage
// records of history (≥ 750 open sessions an hour from 2,000 users on 50 features, all in one
// month), B none.
// Then, interleaving A and B so machine noise hits both alike:
//  - batch apply rate (records/s of 1,000-record batches) at A's history ÷ the same at zero history;
//  - balance read latency (p50, 4 concurrent clients) at A's history vs at zero history;
//  - the workerd process's RSS after a restart and one balance read of A (the DO woken with its
//    whole history on disk) vs the same for B (a DO that loaded its history would show it here);
//  - a plan version re-rating A's month (202, then the alarm's chunks until `rerating` is gone),
//    and closing that month, in seconds beside the time it took to ingest the history;
//  - A's DO storage per record (SQLite database size ÷ records).
// The edge's clock is injected (X-Tally-Now), so the month is January 2026 whatever the date.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { nextRecord, signBatch } from "../../shared/protocol/chain.ts";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import type { ChainRecord } from "../../shared/protocol/schema.ts";
import { latencyFigure, throughputFigure, type BenchFigure } from "../figure.ts";
import { startEdge, stopEdge } from "./edge-ingest.ts";

const ADMIN = "bench-admin-token";
const HISTORY = Number(process.env.CONTRACT_SCALE_RECORDS ?? 500_000);
const MEASURED_BATCHES = Number(process.env.CONTRACT_SCALE_BATCHES ?? 12);
const HISTORY_BATCH = 5000;
const MEASURED_BATCH = 1000;
/** Open sessions an hour: at least 750, more so that the history fits in January (≤ 700 hours). */
const PER_HOUR = Math.max(750, Math.ceil((HISTORY + 2 * MEASURED_BATCHES * 1000) / 700));
const HOUR = 3600_000;
const JAN = Date.UTC(2026, 0, 1);
const FEATURES = Array.from({ length: 50 }, (_, i) => `FEATURE_${String(i).padStart(2, "0")}`);
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

const plan = {
  model: "prepaid_overage", currency: "USD", unit_name: "token", period: "month",
  rates: { FEATURE_00: "2", FEATURE_01: "1.5", "*": "0.5" }, rounding: { increment_s: 60, minimum_s: 300, grace_s: 0 },
  price: { mode: "graduated", tiers: [{ up_to: "100000", unit_price: "0.40" }, { up_to: null, unit_price: "0.30" }] },
  overage: { policy: "allow" },
};

interface Site { contractId: string; collectorId: string; secretKey: string; head: { seq: number; hash: string }; next: number; jsonBytes: number }

async function request(url: string, init: { method?: string; body?: string; token?: string; now: number }): Promise<any> {
  const res = await fetch(url, {
    method: init.method ?? (init.body ? "POST" : "GET"), body: init.body,
    headers: { "Content-Type": "application/json", "X-Tally-Now": String(init.now), ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}) },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} → ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function contract(url: string, apiKey: string): Promise<Site> {
  const now = JAN + HOUR;
  const customer = await request(`${url}/v1/customers`, { body: JSON.stringify({ name: "Bench plant" }), token: apiKey, now });
  const c = await request(`${url}/v1/contracts`, { body: JSON.stringify({ customer_id: customer.id, plan, start: "2026-01-01", timezone: "UTC", statement_grace_h: 72 }), token: apiKey, now });
  await request(`${url}/v1/contracts/${c.id}/grants`, { body: JSON.stringify({ amount: "50000", idempotency_key: "prepaid" }), token: apiKey, now });
  const keys = generateKeyPair();
  const { enrollment_token } = await request(`${url}/v1/contracts/${c.id}/enrollments`, { body: "{}", token: apiKey, now });
  const enrolled = await request(`${url}/v1/enroll`, { body: JSON.stringify({ enrollment_token, public_key: keys.publicKey, site: "bench" }), now });
  return { contractId: c.id, collectorId: enrolled.collector_id, secretKey: keys.secretKey, head: { seq: 0, hash: ZERO_HASH }, next: 0, jsonBytes: 0 };
}

/** The next `n` records of a site (record k: hour ⌊k/750⌋, slot k mod 750; a slot's session lasts 1–8 h). */
function batchBody(site: Site, n: number): { body: string; now: number } {
  const records: ChainRecord[] = [];
  let lastEnd = 0;
  for (let i = 0; i < n; i++) {
    const k = site.next++;
    const hour = Math.floor(k / PER_HOUR), slot = k % PER_HOUR;
    const start = JAN + hour * HOUR;
    const end = start + HOUR - (slot % 11) * 60_000;
    const record = nextRecord(site.collectorId, site.head, end + 5000, { kind: "usage", data: {
      source: "flexlm-plant7", daemon: "MLM", feature: FEATURES[slot % FEATURES.length]!, version: "45.0",
      user: `user${String((slot * 7 + hour) % 2000).padStart(4, "0")}`, host: `ws-${String(slot % 300).padStart(3, "0")}.plant7.example`,
      session: `S${slot}-${Math.floor(hour / (1 + (slot % 8)))}`, start, end, count: 1 + (slot % 3), final: false,
    } });
    records.push(record);
    site.jsonBytes += JSON.stringify(record).length;
    site.head = { seq: record.seq, hash: hashCanonical(record) };
    lastEnd = Math.max(lastEnd, end);
  }
  const now = lastEnd + 60_000;
  return { body: JSON.stringify(signBatch(records, now, site.secretKey)), now };
}

async function send(url: string, site: Site, n: number): Promise<number> {
  const { body, now } = batchBody(site, n);
  const t = performance.now();
  await request(`${url}/v1/collectors/${site.collectorId}/batches`, { body, now });
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function p50(url: string, token: string, now: number, readers = 4, reads = 40): Promise<number> {
  const samples = (await Promise.all(Array.from({ length: readers }, async () => {
    const mine: number[] = [];
    for (let i = 0; i < reads; i++) { const t = performance.now(); await request(url, { token, now }); mine.push(performance.now() - t); }
    return mine;
  }))).flat();
  return median(samples);
}

/** RSS (bytes) of the workerd process under a `wrangler dev` child. */
function workerdRss(child: ChildProcess): number {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      parents.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
      names.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
    } catch { /* gone */ }
  }
  const mine = new Set([child.pid!]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) if (mine.has(parent) && !mine.has(pid)) { mine.add(pid); grew = true; }
  }
  const workerd = [...mine].find((pid) => names.get(pid) === "workerd");
  if (!workerd) throw new Error("no workerd process under wrangler dev");
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${workerd}/status`, "utf8"))![1]) * 1024;
}

/** Stops a `wrangler dev` and waits for it to exit (the next one opens the same files). */
async function stopped(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  stopEdge(child);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  await new Promise((r) => setTimeout(r, 1000));
}

/** Restarts the edge on the same storage and wakes one contract's DO with a balance read. */
async function rssAfterWake(persist: string, contractId: string, token: string, now: number): Promise<{ idle: number; rss: number; edge: { url: string; child: ChildProcess } }> {
  const edge = await startEdge(persist);
  const idle = workerdRss(edge.child);
  await request(`${edge.url}/v1/contracts/${contractId}/balance`, { token, now });
  await new Promise((r) => setTimeout(r, 500));
  return { idle, rss: workerdRss(edge.child), edge };
}

/** Waits until a contract's outbox has drained to D1 (the drain competes with what is measured). */
async function drained(url: string, site: Site, token: string, now: number): Promise<void> {
  for (let i = 0; i < 3600; i++) {
    if ((await request(`${url}/__dev/contracts/${site.contractId}/storage`, { token, now })).rows.outbox === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error("the outbox did not drain within an hour");
}

export default async function contractScale(): Promise<BenchFigure[]> {
  const persist = mkdtempSync(join(tmpdir(), "tally-contract-scale-"));
  let edge = await startEdge(persist);
  try {
    const vendor = await request(`${edge.url}/v1/vendors`, { body: JSON.stringify({ name: "Bench vendor" }), token: ADMIN, now: JAN });
    const token = vendor.api_key as string;
    const a = await contract(edge.url, token);
    const b = await contract(edge.url, token);

    let ingestMs = 0;
    for (let sent = 0; sent < HISTORY; sent += HISTORY_BATCH) {
      ingestMs += await send(edge.url, a, Math.min(HISTORY_BATCH, HISTORY - sent));
      if ((sent / HISTORY_BATCH) % 20 === 0) console.error(`  history: ${sent} records, ${(ingestMs / 1000).toFixed(0)} s`);
    }
    // B's records start with the month too; both then go on with comparable batches, interleaved.
    await send(edge.url, a, MEASURED_BATCH); await send(edge.url, b, MEASURED_BATCH); // warm-up
    await drained(edge.url, a, token, JAN); await drained(edge.url, b, token, JAN);
    const applyA: number[] = [], applyB: number[] = [];
    for (let i = 0; i < MEASURED_BATCHES; i++) { applyB.push(await send(edge.url, b, MEASURED_BATCH)); applyA.push(await send(edge.url, a, MEASURED_BATCH)); }
    const rate = (ms: number[]) => (ms.length * MEASURED_BATCH) / (ms.reduce((s, x) => s + x, 0) / 1000);
    const now = JAN + Math.ceil(a.next / PER_HOUR) * HOUR + HOUR;
    const balance = (s: Site) => `${edge.url}/v1/contracts/${s.contractId}/balance`;
    await drained(edge.url, a, token, now); await drained(edge.url, b, token, now);
    const readsA: number[] = [], readsB: number[] = [];
    for (let i = 0; i < 3; i++) { readsB.push(await p50(balance(b), token, now)); readsA.push(await p50(balance(a), token, now)); }
    const storage = await request(`${edge.url}/__dev/contracts/${a.contractId}/storage?full=1`, { token, now });

    await stopped(edge.child);
    const wokeA = await rssAfterWake(persist, a.contractId, token, now);
    await stopped(wokeA.edge.child);
    const wokeB = await rssAfterWake(persist, b.contractId, token, now);
    edge = wokeB.edge;

    // A plan version from 2 January: the whole month's usage of A is re-rated by the alarm.
    let t = performance.now();
    const put = await request(`${edge.url}/v1/contracts/${a.contractId}/plan`, { method: "PUT", token, now, body: JSON.stringify({ plan: { ...plan, rates: { ...plan.rates, "*": "0.75" } }, effective_at: iso(JAN + 24 * HOUR) }) });
    const acceptMs = performance.now() - t;
    for (let polls = 0; (await request(balance(a), { token, now })).rerating; polls++) {
      if (polls % 30 === 0) console.error(`  re-rating: ${JSON.stringify((await request(balance(a), { token, now })).rerating)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const rerateMs = performance.now() - t;
    // Closing January: the first request after its close (1 Feb + 72 h) freezes its statement.
    const closeNow = Date.UTC(2026, 1, 4, 1);
    t = performance.now();
    const jan = await request(`${edge.url}/v1/contracts/${a.contractId}/statement?period=2026-01-01`, { token, now: closeNow });
    const closeMs = performance.now() - t;
    t = performance.now();
    await request(`${edge.url}/v1/contracts/${b.contractId}/statement?period=2026-01-01`, { token, now: closeNow });
    const closeEmptyMs = performance.now() - t;
    if (jan.state !== "closed") throw new Error("January did not close");

    const records = storage.rows.records as number;
    const notes = `${records.toLocaleString("en-US")} records of history in one month, ${MEASURED_BATCHES} × ${MEASURED_BATCH}-record batches each, interleaved, wrangler dev`;
    const tables = Object.entries(storage.bytes as Record<string, number>).sort(([, x], [, y]) => y - x).slice(0, 5).map(([k, v]) => `${k} ${(v / records).toFixed(0)}`).join(", ");
    return [
      throughputFigure(`batch apply at ${records.toLocaleString("en-US")} records of history`, "records/s", rate(applyA), "same batches at zero history", rate(applyB), notes),
      latencyFigure(`GET balance p50 at ${records.toLocaleString("en-US")} records of history`, "ms", median(readsA), "same at zero history", median(readsB), "4 concurrent clients × 40 reads, 3 rounds, interleaved"),
      latencyFigure("workerd RSS after a restart and one balance read (DO woken)", "MiB", wokeA.rss / 2 ** 20, "same, zero-history DO", wokeB.rss / 2 ** 20,
        `history DO at ${records.toLocaleString("en-US")} records; idle RSS before the read ${(wokeA.idle / 2 ** 20).toFixed(0)} / ${(wokeB.idle / 2 ** 20).toFixed(0)} MiB`),
      latencyFigure("plan version re-rating the month: accepted (202) … rerating done", "s", rerateMs / 1000, "time to ingest that history", ingestMs / 1000, `202 in ${acceptMs.toFixed(0)} ms; ${put.rerating?.total ?? 0} intervals re-rated by the alarm`),
      latencyFigure("closing the month (first request after its close)", "s", closeMs / 1000, "time to ingest that history", ingestMs / 1000, `same request on the zero-history contract: ${closeEmptyMs.toFixed(0)} ms`),
      latencyFigure("DO storage per record", "bytes", storage.database_bytes / records, "the record's JSON as sent", a.jsonBytes / a.next, `${(storage.database_bytes / 2 ** 20).toFixed(0)} MiB for ${records.toLocaleString("en-US")} records; value bytes/record by table (no row, page or index overhead): ${tables}`),
    ];
  } finally {
    stopEdge(edge.child);
    rmSync(persist, { recursive: true, force: true });
  }
}
