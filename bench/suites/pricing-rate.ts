// Pricing throughput: rating intervals into the ledger (split, round, rate, aggregate) against a
// baseline of summing the same intervals' license-ms; a plan with draws (daily use windows and
// checkouts) against the same plan by license-hours, same records; and a cached balance read
// against re-rating all history (what the ContractDO avoids on every read).
import { latencyFigure, throughputFigure, type BenchFigure } from "../figure.ts";
import {
  addPieces, balanceFromLedger, computeBalance, emptyLedger, pricingTerms, rateIntervals,
  type Plan, type PricingInput, type UsageInterval,
} from "../../shared/pricing/index.ts";

const H = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);

function workload(n: number): PricingInput {
  const plan = {
    model: "prepaid_overage", currency: "USD", unit_name: "token", period: "month",
    rates: { MATLAB: "1", Simulink: "0.75", "*": "0.5" }, rounding: { increment_s: 60, minimum_s: 300, grace_s: 30 },
    price: { mode: "graduated", tiers: [{ up_to: "1000", unit_price: "0.40" }, { up_to: null, unit_price: "0.30" }] },
    overage: { policy: "allow" },
  } as Plan;
  const features = ["MATLAB", "Simulink", "Toolbox_A", "Toolbox_B"];
  const intervals: UsageInterval[] = [];
  let x = 12345;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let s = 0; intervals.length < n; s++) {
    let t = NOV + Math.floor(rnd() * 85 * 24) * H + Math.floor(rnd() * 3600) * 1000;
    const pieces = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < pieces && intervals.length < n; i++) {
      const end = (Math.floor(t / H) + 1) * H; // cut at hour multiples, as the collector does
      intervals.push({
        ref: `col:${intervals.length + 1}`, feature: features[s % 4]!, session: `s${s}`, start: t, end, count: 1 + (s % 3), received_at: end,
        user: `u${Math.floor(rnd() * 300)}`, host: `ws${s % 40}`,
      });
      t = end;
    }
  }
  const grants = [
    { id: "g1", amount: "5000", created_at: NOV },
    { id: "g2", amount: "2000", created_at: NOV + 10 * 24 * H, expires_at: NOV + 40 * 24 * H },
  ];
  return { contract: { start: "2026-11-01", timezone: "Europe/Berlin", period: "month" }, plans: [{ effective_at: NOV, plan }], grants, intervals };
}

function best(fn: () => void, reps: number): number {
  let min = Infinity;
  for (let r = 0; r < reps; r++) { const t = performance.now(); fn(); min = Math.min(min, performance.now() - t); }
  return min;
}

export default async function pricingRate(): Promise<BenchFigure[]> {
  const n = 50_000;
  const input = workload(n);
  const terms = pricingTerms(input.contract, input.plans, input.grants);
  let sink = 0n;
  const rateHours = () => { const l = emptyLedger(); addPieces(l, rateIntervals(terms, input.intervals)); sink += BigInt(l.buckets.size); };
  // The same records under daily windows per user and product (MATLAB, Simulink) and credits per job.
  const drawPlan = { ...input.plans[0]!.plan, rates: {
    MATLAB: { per: "use_window", units: "7" }, Simulink: { per: "use_window", units: "3", window_s: 43_200, key: ["user"] },
    Toolbox_A: { per: "checkout", units: "2" }, "*": "0.5",
  } } as Plan;
  const drawTerms = pricingTerms(input.contract, [{ effective_at: NOV, plan: drawPlan }], input.grants);
  let draws = 0;
  const rateDraws = () => {
    const l = emptyLedger();
    addPieces(l, rateIntervals(drawTerms, input.intervals));
    draws = [...l.buckets.values()].reduce((n, b) => n + b.draws, 0);
  };
  // Alternated, so that both run with the same warmed-up code.
  let rateMs = Infinity, drawMs = Infinity;
  for (let r = 0; r < 6; r++) { rateMs = Math.min(rateMs, best(rateHours, 1)); drawMs = Math.min(drawMs, best(rateDraws, 1)); }
  const sumMs = best(() => { let s = 0; for (const iv of input.intervals) s += (iv.end - iv.start) * iv.count; sink += BigInt(s); }, 20);
  const ledger = emptyLedger();
  addPieces(ledger, rateIntervals(terms, input.intervals));
  const asOf = NOV + 86 * 24 * H;
  const cachedMs = best(() => { sink += BigInt(balanceFromLedger(terms, ledger, [], asOf).usage.license_seconds); }, 20);
  const fullMs = best(() => { sink += BigInt(computeBalance(input, asOf).usage.license_seconds); }, 3);
  if (sink === -1n) console.log(sink);
  return [
    throughputFigure("pricing: rate intervals into ledger", "intervals/s", n / (rateMs / 1000), "sum license-ms of the same intervals", n / (sumMs / 1000), `${n} intervals, ${ledger.buckets.size} buckets`),
    throughputFigure("pricing: rate with use windows and checkouts", "intervals/s", n / (drawMs / 1000), "the same records by license-hours only", n / (rateMs / 1000), `${n} intervals, ${draws} draws (goal ≥ 0.8)`),
    latencyFigure("pricing: balance read from cached ledger", "ms", cachedMs, "computeBalance re-rating all history", fullMs, `${n} intervals over 3 periods`),
  ];
}
