// `npm start`'s demo data, made the way a vendor's would be: through the SDK (sdk/) and real
// collector processes. A vendor with two customers:
//  - Acme Engineering: a token contract that started ~70 days ago, a monthly allotment, one
//    site whose last 60 days of FlexLM use (scripts/demo-history.ts) is backfilled and synced;
//  - Borealis Aerospace: a hybrid plan (fixed fee, included units, two price tiers, overage
//    limited) whose open period's use sits at ~90 % of its limit.
// The history is replayed one period at a time through the clock relay (demo-clock-relay.ts),
// so every past period closes with its usage and its statement freezes, as it would have live.
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createClient, unwrap } from "../sdk/index.ts";
import { periodAt, periodByIndex, type PeriodContract } from "../shared/pricing/periods.ts";
import { wallTimeAt } from "../shared/time/zoned.ts";
import { startClockRelay, type ClockRelay } from "./demo-clock-relay.ts";
import { flexlmHistoryLog, licenseSeconds, simulateUsage, type Session, type SiteProfile } from "./demo-history.ts";

const ROOT = resolve(import.meta.dirname, "..");
const DAY = 86_400_000;
export const HISTORY_DAYS = 60;

export interface DemoContract { id: string; customer: string; site: string; state: string }
export interface Demo { vendor_key: string; contract_id: string; contracts: DemoContract[]; status_url?: string }

export interface SeedOptions {
  edge: string;
  adminToken: string;
  /** Where the collectors' state dirs and the history logs go. */
  dir: string;
  timezone: string;
  /** The clock relay the collectors enroll against (kept running by the caller afterwards). */
  relay: ClockRelay;
  now?: number;
  say?: (line: string) => void;
}

export function acmeSite(timezone: string): SiteProfile {
  return {
    timezone, daemon: "MLM", seed: 7, sessionsPerWeekday: 2.5,
    features: [
      { name: "MATLAB", seats: 12, weight: [5, 5] },
      { name: "SIMULINK", seats: 6, weight: [3, 3] },
      { name: "Signal_Toolbox", seats: 6, weight: [0.1, 4] }, // the feature that takes off (pickFeature: with the square of the progress)
    ],
    users: ["ana", "Marta Rodriguez", "José Juan Galera", "li.wei", "ops", "b.okafor", "k.tanaka", "p.novak", "r.silva", "s.ivanova", "t.muller", "v.rossi"],
    heavyUsers: ["Marta Rodriguez", "li.wei"],
  };
}

export function borealisSite(timezone: string): SiteProfile {
  return {
    timezone, daemon: "cdslmd", seed: 11, sessionsPerWeekday: 2,
    features: [{ name: "Virtuoso", seats: 4, weight: [3, 3] }, { name: "Spectre", seats: 3, weight: [2, 2] }],
    users: ["h.berg", "n.lind", "o.strand", "e.dahl", "m.holm"], heavyUsers: ["n.lind"],
  };
}

const ACME_RATES: Record<string, string> = { MATLAB: "1", SIMULINK: "0.6", "*": "0.3" };

/** Units (per license-hour rates) of the sessions inside [from, to), rounded up. */
function units(sessions: Session[], rates: Record<string, string>, from: number, to: number): number {
  let sum = 0;
  for (const [feature, seconds] of licenseSeconds(sessions, from, to)) sum += (seconds / 3600) * Number(rates[feature] ?? rates["*"] ?? "0");
  return Math.ceil(sum);
}

export async function seedDemo(options: SeedOptions): Promise<Demo> {
  const say = options.say ?? (() => {});
  const now = options.now ?? Date.now();
  const tz = options.timezone;
  const historyTo = Math.floor((now - 120_000) / 1000) * 1000;
  const historyFrom = historyTo - HISTORY_DAYS * DAY;
  const startLocal = wallTimeAt(now - (HISTORY_DAYS + 10) * DAY, tz);
  const start = `${startLocal.year}-${String(startLocal.month).padStart(2, "0")}-${String(startLocal.day).padStart(2, "0")}`;
  const calendar: PeriodContract = { start, timezone: tz, period: "month" };
  const periods = [];
  for (let p = periodAt(calendar, historyFrom); p.start < historyTo; p = periodByIndex(calendar, p.index + 1)) periods.push(p);

  const acme = acmeSite(tz), borealis = borealisSite(tz);
  const acmeUse = simulateUsage(acme, historyFrom, historyTo);
  const borealisUse = simulateUsage(borealis, historyFrom, historyTo);
  const open = periods[periods.length - 1]!;
  const fullPeriod = periods.find((p) => p.start >= historyFrom && p.end <= historyTo) ?? open;
  // A monthly allotment a little short of a busy month: full periods end in some overage.
  const topUp = String(Math.ceil(units(acmeUse.sessions, ACME_RATES, fullPeriod.start, fullPeriod.end) * 0.9));
  // Borealis: half its open period's use included, the rest at 90 % of the overage limit.
  const used = units(borealisUse.sessions, { "*": "1" }, open.start, historyTo);
  const included = Math.floor(used / 2);
  const limit = Math.max(1, Math.ceil((used - included) / 0.9));

  const operator = createClient({ baseUrl: options.edge, apiKey: options.adminToken });
  const vendor = unwrap(await operator.POST("/v1/vendors", { body: { name: "Demo Simulation Software Inc." } }));
  const tally = createClient({ baseUrl: options.edge, apiKey: vendor.api_key });
  const contracts: DemoContract[] = [];
  for (const [customer, site, plan] of [
    ["Acme Engineering", "Acme Plant 3", {
      model: "token", currency: "USD", unit_name: "token", period: "month", rates: ACME_RATES,
      rounding: { increment_s: 60, minimum_s: 0, grace_s: 0 },
      price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "1.50", flat_fee: "0" }] },
      fixed_fee: "0", included_units: "0", minimum_commitment: "0", overage: { policy: "allow", limit_units: "0" },
    }],
    ["Borealis Aerospace", "Borealis Design Center", {
      model: "hybrid", currency: "USD", unit_name: "credit", period: "month", rates: { "*": "1" },
      rounding: { increment_s: 60, minimum_s: 0, grace_s: 0 },
      price: { mode: "graduated", tiers: [{ up_to: String(Math.max(1, Math.ceil(limit * 0.4))), unit_price: "4.00", flat_fee: "0" }, { up_to: null, unit_price: "3.00", flat_fee: "0" }] },
      fixed_fee: "1200.00", included_units: String(included), minimum_commitment: "0", overage: { policy: "limit", limit_units: String(limit) },
    }],
  ] as const) {
    const c = unwrap(await tally.POST("/v1/customers", { body: { name: customer } }));
    const contract = unwrap(await tally.POST("/v1/contracts", { body: { customer_id: c.id, start, timezone: tz, expected_sync_s: 60, plan } }));
    const { enrollment_token } = unwrap(await tally.POST("/v1/contracts/{id}/enrollments", { params: { path: { id: contract.id } } }));
    const state = join(options.dir, `collector-${contracts.length === 0 ? "acme" : "borealis"}`);
    await collector(["init", "--server", options.relay.url, "--enroll", enrollment_token, "--site", site, "--state", state]);
    contracts.push({ id: contract.id, customer, site, state });
  }
  const [acmeContract, borealisContract] = contracts as [DemoContract, DemoContract];
  say(`replaying ${HISTORY_DAYS} days: ${acmeUse.sessions.length + borealisUse.sessions.length} sessions over ${periods.length} periods …`);

  await mkdir(join(options.dir, "history"), { recursive: true });
  for (const [k, period] of periods.entries()) {
    const from = Math.max(period.start, historyFrom), to = Math.min(period.end, historyTo);
    // The period's top-up, made while it was open.
    options.relay.setNow(null);
    const stamp = { "X-Tally-Now": String(from + 1000) };
    unwrap(await tally.POST("/v1/contracts/{id}/grants", {
      params: { path: { id: acmeContract.id } }, headers: stamp,
      body: { amount: topUp, effective_at: new Date(period.start).toISOString(), expires_at: new Date(period.end).toISOString(), idempotency_key: `demo-topup-${period.start_date}` },
    }));
    let syncAt = to;
    await Promise.all([[acme, acmeUse, acmeContract] as const, [borealis, borealisUse, borealisContract] as const].map(async ([site, use, contract]) => {
      const sessions = use.sessions.filter((s) => s.start >= from && s.start < to);
      const denials = use.denials.filter((d) => d.at >= from && d.at < to);
      const end = Math.max(to, ...sessions.map((s) => s.end));
      syncAt = Math.max(syncAt, end);
      const file = join(options.dir, "history", `${contract.state.split("collector-")[1]}-${String(k).padStart(2, "0")}-${period.start_date}.log`);
      await writeFile(file, flexlmHistoryLog(site, from, end, sessions, denials));
      await collector(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", tz, "--state", contract.state]);
    }));
    // Synced just after the period's (or the history's) end: the period is still open then.
    options.relay.setNow(Math.min(syncAt + 60_000, Math.max(now, to + 60_000)));
    await Promise.all(contracts.map((c) => collector(["sync", "--state", c.state])));
    say(`  period ${period.start_date}: synced`);
  }
  options.relay.setNow(null);
  // The chart and usage history read D1, which trails the DO by the outbox drain: the demo is
  // ready when every site's projected hwm has reached its acknowledged one.
  for (const c of contracts) await projectionCaughtUp(tally, c.id);
  const link = unwrap(await tally.POST("/v1/contracts/{id}/status-links", { params: { path: { id: acmeContract.id } }, body: { name: "demo" } }));
  return { vendor_key: vendor.api_key, contract_id: acmeContract.id, contracts, status_url: link.url };
}

/** Waits (up to 5 minutes) until D1's projection of a contract lists every acknowledged seq: the
 * `collector` outbox row queued after each batch's records moves D1's hwm, so an equal hwm means
 * the records and usage rollups before it have drained. */
async function projectionCaughtUp(tally: ReturnType<typeof createClient>, contractId: string): Promise<void> {
  const path = { params: { path: { id: contractId } } };
  for (let waited = 0; ; waited += 250) {
    const acked = unwrap(await tally.GET("/v1/contracts/{id}/collectors", path)).items;
    const projected = unwrap(await tally.GET("/v1/contracts/{id}/export", { params: { path: { id: contractId }, query: { limit: 1 } } })).collectors;
    const behind = acked.filter((a) => projected.find((p) => p.id === a.id)?.hwm !== a.acked_seq);
    if (behind.length === 0) return;
    if (waited > 300_000) throw new Error(`contract ${contractId}: the usage projection did not catch up (${behind.map((b) => b.site).join(", ")})`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/** Runs the collector CLI (Node's own type stripping); rejects with its stderr on a non-zero exit. */
export function collector(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "collector/cli.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.once("error", fail);
    child.once("close", (code) => (code === 0 ? ok(out) : fail(new Error(`collector ${args[0]} exited ${code}: ${out.slice(-1500)}`))));
  });
}

