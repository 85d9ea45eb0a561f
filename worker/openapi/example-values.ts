// Values the route declarations' examples share, so /docs tells one consistent story: one vendor,
// its customer Acme, a contract, a site. Examples only: never read by the edge's logic.
import { statementCsv } from "../statement-csv.ts";

export const ex = {
  vendor: "ven_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e0",
  customer: "cus_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e1",
  contract: "ctr_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e2",
  collector: "col_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e3",
  apiKey: "key_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e4",
  statusLink: "stl_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e5",
  grant: "grt_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e6",
  edgeKeyId: "edk_3f9a1c0b5d7e2a48",
  edgePublicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  collectorPublicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
  signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  hash: "ad9f3c0e1f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
  created: "2026-11-02T09:15:00Z",
  now: "2026-11-27T10:00:00Z",
  period: { start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z", start_date: "2026-11-01" },
  plan: {
    model: "token", currency: "USD", unit_name: "token", period: "month", rates: { MATLAB: "1", "*": "0.5" },
    rounding: { increment_s: 60, minimum_s: 0, grace_s: 0 },
    price: { mode: "graduated", tiers: [{ up_to: "1000", unit_price: "0.40", flat_fee: "0" }, { up_to: null, unit_price: "0.30", flat_fee: "0" }] },
    fixed_fee: "0", included_units: "0", minimum_commitment: "0", overage: { policy: "allow", limit_units: "0" },
  },
};

/** A signed receipt, as a batch or bundle answers it. */
export const receiptExample = {
  receipt: { collector_id: ex.collector, acked_seq: 120, head: ex.hash, received_at: 1796032800000, key_id: ex.edgeKeyId },
  signature: ex.signature,
};

/** A batch of one usage record, as a collector sends it. */
export const batchExample = {
  records: [{
    v: 1, collector_id: ex.collector, seq: 120, prev: ex.hash, ts: 1796032790000, kind: "usage",
    data: {
      source: "lmgrd", daemon: "MLM", feature: "MATLAB", user: "Marta Rodriguez", host: "ws-07", session: "MLM:MATLAB:ws-07:1796025600",
      start: 1796025600000, end: 1796032790000, count: 1, final: true,
    },
  }],
  checkpoint: { collector_id: ex.collector, seq: 120, head: ex.hash, ts: 1796032790000 },
  signature: ex.signature,
};

// Pricing answers (DESIGN.md §6–§7), kept here so the pricing routes' files change by one
// argument each.
export const balanceExample = {
  contract_id: ex.contract, as_of: ex.now, period: ex.period, unit_name: "token", currency: "USD",
  usage: {
    units: "412.5", license_seconds: 1485000, billed_license_seconds: 1486200,
    by_feature: [
      { feature: "MATLAB", units: "300", draws: 0, license_seconds: 1080000, billed_license_seconds: 1080600 },
      { feature: "SIMULINK", units: "112.5", draws: 0, license_seconds: 405000, billed_license_seconds: 405600 },
    ],
    unrated_features: [] as string[],
  },
  grants: [{ id: ex.grant, amount: "1000", remaining: "587.5", effective_at: "2026-11-01T00:00:00Z", expires_at: null, priority: 0 }],
  granted_units: "1000", remaining_units: "587.5", overage_units: "0", unbilled_overage_units: "0",
  charges: { fixed: "0.00", usage: "0.00", adjustments: "0.00", total: "0.00" },
  status: "ok" as const, quarantined_records: 0, stale: false,
  collectors: [{ collector_id: ex.collector, site: "Acme Plant 3", acked_seq: 120, last_sync: "2026-11-27T09:59:30Z", stale: false, flags: [] }],
};

export const statementExample = {
  contract_id: ex.contract, period: { start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z", start_date: "2026-11-01" },
  state: "open" as const, currency: "USD",
  lines: [
    { id: `grant:${ex.grant}`, kind: "prepaid_usage" as const, description: `Prepaid tokens from grant ${ex.grant}`, quantity: "1000", amount: "0.00" },
    { id: "overage:1793487600000:1", kind: "overage" as const, description: "Overage tier 1 (0–1000 tokens)", tier: 1, quantity: "240.5", unit_price: "0.40", amount: "96.20" },
  ],
  total: "96.20",
};

/** The same statement as `Accept: text/csv` answers it (made by the code that answers it). */
export const statementCsvExample = statementCsv(statementExample);

/** The runs of records a statement line (here the overage line above) traces to, paged. */
export const lineRecordsExample = {
  items: [{ collector_id: ex.collector, first_seq: 9412, last_seq: 9730 }, { collector_id: ex.collector, first_seq: 9733, last_seq: 9801 }],
  next_cursor: "WzAsMTc5NTAwMDAwMDAwMCwiY29sXzAxOWFjOGUzZTFhMGIxYzJkM2U0ZjVhNmI3YzhkOWUzOjk4MDEiLCI4NjU4MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiXQ",
};

export const grantExample = { id: ex.grant, contract_id: ex.contract, amount: "1000", priority: 0, effective_at: null, expires_at: "2027-01-01T00:00:00Z", created_at: ex.created, rerating: null };

/** A plan version accepted (202); the usage it re-rates is re-rated by the contract's alarm. */
export const planVersionsExample = {
  contract_id: ex.contract,
  version: { effective_at: "2026-11-15T00:00:00Z", plan: { ...ex.plan, rates: { MATLAB: "1.25", "*": "0.5" } } },
  versions: [
    { effective_at: "2026-10-31T23:00:00Z", plan: ex.plan },
    { effective_at: "2026-11-15T00:00:00Z", plan: { ...ex.plan, rates: { MATLAB: "1.25", "*": "0.5" } } },
  ],
  rerating: { done: 0, total: 18_240 },
};

export const usageExample = {
  contract_id: ex.contract, from: "2026-11-01T00:00:00Z", to: "2026-11-03T00:00:00Z", group_by: ["feature" as const, "day" as const],
  items: [
    { feature: "MATLAB", day: "2026-11-02", license_seconds: 86400, units: "24", draws: 0, sessions: 31, denials: 0 },
    { feature: "SIMULINK", day: "2026-11-02", license_seconds: 36000, units: "5", draws: 0, sessions: 12, denials: 2 },
  ],
  next_cursor: null,
};

export const customerStatusExample = {
  as_of: ex.now, unit_name: "token", remaining_units: "587.5", granted_units: "1000", status: "ok", period: ex.period,
  usage: { license_seconds: 1485000, units: "412.5", by_feature: [{ feature: "MATLAB", license_seconds: 1080000, units: "300", draws: 0 }, { feature: "SIMULINK", license_seconds: 405000, units: "112.5", draws: 0 }] },
  stale: false, sites: [{ site: "Acme Plant 3", last_sync: "2026-11-27T09:59:30Z", stale: false }],
  enforcement: [],
};
