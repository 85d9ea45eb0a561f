// The offline estimate of `collector status` (DESIGN.md §8): the replica's last known remaining
// units minus this site's usage above the acked_seq that figure reflects, rated like the edge
// rates (session rounding included) — against a replica synced with a real ContractDocServer and
// a real SegmentLog on disk.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ContractDocReplica, ContractDocServer, MemoryContractDocStorage, type JsonObject, type ReplicaStore } from "../../../shared/contract-doc/index.ts";
import type { RecordBody } from "../../../shared/protocol/index.ts";
import { RecordWriter } from "../../../collector/chain/record-writer.ts";
import { estimateRemaining } from "../../../collector/contract-doc/offline-estimate.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

const COLLECTOR = "col_site1";
const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 2);
const pricedPlan = {
  model: "pay_per_use", currency: "USD", unit_name: "token", period: "month",
  rates: { MATLAB: "1", "*": "0.5" }, rounding: { increment_s: 60, minimum_s: 0, grace_s: 0 },
  price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.10", flat_fee: "0" }] },
  fixed_fee: "0", included_units: "0", minimum_commitment: "0", overage: { policy: "allow", limit_units: "0" },
};

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

function usage(feature: string, session: string, start: number, end: number, count = 1): RecordBody {
  return { kind: "usage", data: { source: "flexlm", daemon: "MLM", feature, user: "ada", host: "ws-1", session, start, end, count, final: false } };
}

/** A log of 4 records; the edge's balance reflects seq 2 and says 100 units remain. */
async function siteWith(plan: JsonObject, extraTerms: JsonObject = {}) {
  const dir = await mkdtemp(join(tmpdir(), "tally-estimate-"));
  dirs.push(dir);
  const { log } = await SegmentLog.open(join(dir, "log"));
  const writer = await RecordWriter.open(log, COLLECTOR);
  await writer.append([
    usage("MATLAB", "s1", T0, T0 + HOUR),
    usage("Simulink", "s2", T0, T0 + HOUR),
    usage("MATLAB", "s3", T0 + HOUR, T0 + 1.5 * HOUR, 2),
    usage("Simulink", "s2", T0 + HOUR, T0 + HOUR + 90_000),
  ]);
  const server = ContractDocServer.load(new MemoryContractDocStorage());
  server.writeTerms({ plan, rates: plan.rates!, unit_name: "token", currency: "USD", period: "month", timezone: "UTC", start_date: "2026-11-01", start_at: "2026-11-01T00:00:00Z", scope: null, ...extraTerms });
  server.writeBalance({ as_of: "2026-11-02T02:00:00Z", remaining_units: "100", period: { start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z" }, collectors: { [COLLECTOR]: { acked_seq: 2 } } });
  let blob: Uint8Array | null = null;
  const store: ReplicaStore = { load: () => blob, save: (b) => { blob = b; } };
  const replica = ContractDocReplica.open(store, COLLECTOR);
  replica.applySyncAnswer(server.sync(COLLECTOR, replica.syncRequest()));
  return { log, doc: replica.read() };
}

describe("offline estimate", () => {
  it("subtracts the usage above the reflected acked_seq, rated with shared/pricing including the session's rounding", async () => {
    const { log, doc } = await siteWith(pricedPlan);
    try {
      // seq 3: 30 min × 2 × 1 = 1 unit. seq 4 continues s2: 3690 s billed as 3720, so its piece is
      // 120 s × 0.5/h = 1/60 unit. 100 − 61/60 = 98.98333…
      expect(await estimateRemaining(doc, COLLECTOR, log)).toEqual({
        last_known_remaining_units: "100", balance_as_of: "2026-11-02T02:00:00Z", reflects_acked_seq: 2, counted_from_seq: 3,
        used_since_units: "1.016667", estimated_remaining_units: "98.983333", rated_with: "shared/pricing",
      });
    } finally {
      await log.close();
    }
  });

  it("rates with terms.rates per license-hour, exactly, when the plan is not a full pricing plan", async () => {
    const { log, doc } = await siteWith({ unit_name: "token", currency: "USD", period: "month", rates: { MATLAB: "1", "*": "0.5" } });
    try {
      // seq 3: 1 unit; seq 4: 90 s × 0.5/h = 0.0125 (no rounding without a plan's rounding).
      expect(await estimateRemaining(doc, COLLECTOR, log)).toMatchObject({ used_since_units: "1.0125", estimated_remaining_units: "98.9875", rated_with: "terms.rates" });
    } finally {
      await log.close();
    }
  });

  it("rates each record with the plan version in force at its time, as the edge publishes them (terms.plan_versions)", async () => {
    // The edge's doc (worker/contract/doc-host.ts): every version with effective_at in ms, `plan` the
    // latest. MATLAB costs 3 from T0 + 1¼ h: seq 3 (T0 + 1 h … 1½ h, × 2) = 15 min × 2 × 1 + 15 min
    // × 2 × 3 = 2 units (3 if only the latest plan were used); seq 4 as before, 1/60.
    const later = { ...pricedPlan, rates: { MATLAB: "3", "*": "0.5" } };
    const { log, doc } = await siteWith(later, { plan_versions: [{ effective_at: Date.UTC(2026, 10, 1), plan: pricedPlan }, { effective_at: T0 + 1.25 * HOUR, plan: later }] });
    try {
      expect(await estimateRemaining(doc, COLLECTOR, log)).toMatchObject({ used_since_units: "2.016667", estimated_remaining_units: "97.983333", rated_with: "shared/pricing" });
    } finally {
      await log.close();
    }
  });

  it("counts draws as the edge does: a new use inside a window a reflected record opened draws nothing", async () => {
    // Daily MATLAB windows of 4 per user, Simulink 1 per checkout. seq 1 (reflected) opened ada's window at T0;
    // seq 3 (ada, T0 + 1 h) is inside it: 0. seq 4 continues the reflected checkout s2: 0. Nothing used since.
    const drawn = { ...pricedPlan, rates: { MATLAB: { per: "use_window", units: "4" }, Simulink: { per: "checkout", units: "1" } } };
    const { log, doc } = await siteWith(drawn);
    try {
      expect(await estimateRemaining(doc, COLLECTOR, log)).toMatchObject({ used_since_units: "0", estimated_remaining_units: "100", rated_with: "shared/pricing" });
    } finally {
      await log.close();
    }
  });
});
