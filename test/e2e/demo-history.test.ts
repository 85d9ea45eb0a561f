// `npm start`'s demo seeding (scripts/demo-seed.ts) against a local edge, with real collector
// processes: 60 days of history land as usage, past periods close with their usage and frozen
// statements, the history has its weekday rhythm and its growing feature, and the hybrid
// contract sits just under its overage limit. Prints how long the seeding took.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient, unwrap, type TallyClient } from "../../sdk/index.ts";
import { startClockRelay, type ClockRelay } from "../../scripts/demo-clock-relay.ts";
import { HISTORY_DAYS, seedDemo, type Demo } from "../../scripts/demo-seed.ts";
import { startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { realNow } from "../support/test-clock.ts";

const DAY = 86_400_000;
const TIMEZONE = "America/Chicago";
let edge: LocalEdge;
let relay: ClockRelay;
let dir: string;
let demo: Demo;
let tally: TallyClient;
let seededAt: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-demo-"));
  // The demo seeds on the real clock (scripts/demo-seed.ts), so its edge runs on it too.
  // On `wrangler dev`, as `npm start` serves the demo (the other suites run on Miniflare).
  edge = await startLocalEdge({ clockOffsetMs: 0, runtime: "wrangler" });
  relay = await startClockRelay(edge.url);
  const started = realNow();
  demo = await seedDemo({ edge: edge.url, adminToken: edge.adminToken, dir, timezone: TIMEZONE, relay });
  seededAt = realNow();
  console.log(`[demo] seeded ${HISTORY_DAYS} days for two contracts in ${((seededAt - started) / 1000).toFixed(1)} s`);
  tally = createClient({ baseUrl: edge.url, apiKey: demo.vendor_key });
}, 600_000);

afterAll(async () => {
  await relay?.close();
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every group of the usage history, page by page (the range on whole hours, as the API asks). */
async function usageByDay(contractId: string, groupBy: string) {
  const hour = (t: number) => new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString().slice(0, 19) + "Z";
  const to = hour(seededAt + 3_600_000);
  const from = hour(seededAt - (HISTORY_DAYS + 2) * DAY);
  const rows = [];
  let cursor: string | undefined;
  do {
    const page = unwrap(await tally.GET("/v1/contracts/{id}/usage", { params: { path: { id: contractId }, query: { from, to, group_by: groupBy, limit: 1000, ...(cursor ? { cursor } : {}) } } }));
    rows.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return rows;
}

it("the history covers 60 days, busier on weekdays than at weekends", async () => {
  const rows = await usageByDay(demo.contract_id, "day");
  const days = rows.map((r) => r.day!).sort();
  expect(days.length).toBeGreaterThanOrEqual(HISTORY_DAYS - 1);
  expect(Date.parse(days.at(-1)!) - Date.parse(days[0]!)).toBeGreaterThanOrEqual((HISTORY_DAYS - 1) * DAY);
  const weekday = rows.filter((r) => ![0, 6].includes(new Date(`${r.day}T12:00:00Z`).getUTCDay()));
  const weekend = rows.filter((r) => [0, 6].includes(new Date(`${r.day}T12:00:00Z`).getUTCDay()));
  const mean = (xs: typeof rows) => xs.reduce((a, r) => a + r.license_seconds, 0) / Math.max(1, xs.length);
  expect(weekend.length).toBeGreaterThan(10);
  expect(mean(weekday)).toBeGreaterThan(4 * mean(weekend));
  expect(rows.reduce((a, r) => a + r.denials, 0)).toBeGreaterThan(0);
});

it("one feature grows over the history, and a few users use far more than the rest", async () => {
  const rows = await usageByDay(demo.contract_id, "feature,day");
  const firstWeeks = (f: string) => rows.filter((r) => r.feature === f && Date.parse(r.day!) < seededAt - (HISTORY_DAYS - 21) * DAY).reduce((a, r) => a + r.license_seconds, 0);
  const lastWeeks = (f: string) => rows.filter((r) => r.feature === f && Date.parse(r.day!) >= seededAt - 21 * DAY).reduce((a, r) => a + r.license_seconds, 0);
  expect(lastWeeks("Signal_Toolbox")).toBeGreaterThan(3 * firstWeeks("Signal_Toolbox"));
  expect(lastWeeks("MATLAB")).toBeLessThan(2 * firstWeeks("MATLAB"));
  const users = (await usageByDay(demo.contract_id, "user")).sort((a, b) => b.license_seconds - a.license_seconds);
  expect(users.slice(0, 2).map((u) => u.user).sort()).toEqual(["Marta Rodriguez", "li.wei"]);
  expect(users[1]!.license_seconds).toBeGreaterThan(2 * users[2]!.license_seconds);
});

it("past periods are closed with their usage in frozen statements; the open one has its own", async () => {
  const contract = unwrap(await tally.GET("/v1/contracts/{id}", { params: { path: { id: demo.contract_id } } }));
  const balance = unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id: demo.contract_id } } }));
  expect(Date.parse(contract.start_at)).toBeLessThan(seededAt - HISTORY_DAYS * DAY);
  const closed = [];
  for (let date = contract.start; date < balance.period.start_date;) {
    const s = unwrap(await tally.GET("/v1/contracts/{id}/statement", { params: { path: { id: demo.contract_id }, query: { period: date } } }));
    closed.push(s);
    date = nextStart(s.period.end); // a period ends where the next one starts
  }
  expect(closed.length).toBeGreaterThanOrEqual(2);
  for (const s of closed) {
    expect(s.state).toBe("closed");
    expect(Number(s.lines.find((l) => l.kind === "prepaid_usage")?.quantity ?? 0)).toBeGreaterThan(0);
  }
  // A full month's use exceeds its allotment: the vendor sees overage billed.
  expect(closed.some((s) => s.lines.some((l) => l.kind !== "prepaid_usage" && Number(l.amount) > 0))).toBe(true);
  expect(closed.every((s) => !s.lines.some((l) => l.kind === "adjustment"))).toBe(true);
  expect(Number(balance.usage.license_seconds)).toBeGreaterThan(0);

  /** The local date of an instant in the contract's zone. */
  function nextStart(end: string): string {
    return new Intl.DateTimeFormat("en-CA", { timeZone: TIMEZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(end));
  }
});

it("the hybrid contract is near its overage limit: 80–100 % of it used, not yet blocked", async () => {
  const hybrid = demo.contracts.find((c) => c.customer === "Borealis Aerospace")!;
  const contract = unwrap(await tally.GET("/v1/contracts/{id}", { params: { path: { id: hybrid.id } } }));
  const plan = contract.plan as { model: string; overage: { policy: string; limit_units: string }; price: { tiers: unknown[] }; fixed_fee: string; included_units: string };
  expect({ model: plan.model, policy: plan.overage.policy, tiers: plan.price.tiers.length }).toEqual({ model: "hybrid", policy: "limit", tiers: 2 });
  const balance = unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id: hybrid.id } } })) as Record<string, any>;
  const used = Number(balance.overage_units) / Number(plan.overage.limit_units);
  expect(used).toBeGreaterThan(0.8);
  expect(used).toBeLessThan(1);
  expect(balance.status).toBe("ok");
  expect(balance.charges.fixed).toBe(plan.fixed_fee);
});
