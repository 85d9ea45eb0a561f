// The fleet of guarantee 2 (docs/guarantees.md): three vendors, each selling the product of its
// own license manager daemon, five contracts, twelve sites. Every site reads its own simulated
// FlexLM server; the sessions those servers closed are the truth the edge must end with.
import { join } from "node:path";
import { FlexlmSimulator } from "../../../scripts/flexlm-simulator.ts";
import { seededRandom } from "../../support/seed.ts";
import {
  createContract, createCustomer, createEnrollment, createVendor, edgeRequest, payPerUsePlan, type LocalEdge,
} from "../../support/local-edge.ts";

interface VendorSpec { name: string; daemon: string; features: string[]; sitesPerContract: number[] }

/** 3 vendors, 1–2 contracts each, 2–3 sites per contract: 12 sites. */
export const FLEET: readonly VendorSpec[] = [
  { name: "Numerics Inc", daemon: "MLM", features: ["MATLAB", "SIMULINK", "Signal_Toolbox"], sitesPerContract: [3, 2] },
  { name: "Drafting Corp", daemon: "adskflex", features: ["ACD", "INVNTOR", "RVT_2026"], sitesPerContract: [3] },
  { name: "Silicon Tools", daemon: "snpslmd", features: ["VCSRuntime_Net", "DesignCompiler", "PrimeTime"], sitesPerContract: [2, 2] },
];

export const STEP_MS = 20_000;

export interface FleetSite {
  name: string;
  contract: FleetContract;
  /** The collector's state dir. */
  state: string;
  /** The simulated server's debug log, which the site backfills from. */
  log: string;
  sim: FlexlmSimulator;
  /** Simulated time of the last step. */
  clock: number;
  /** Seed of this site's sync jitter (TALLY_JITTER_SEED). */
  jitterSeed: number;
  enrollmentToken: string;
  /** Set by `init`. */
  collectorId?: string;
}

export interface FleetContract {
  vendor: string;
  vendorKey: string;
  contractId: string;
  daemon: string;
  statusToken: string;
  sites: FleetSite[];
}

/** Vendors, customers, contracts starting on t0's date (so all simulated time is in the open
 *  period), one enrollment and one simulated server per site, and a status link per contract. */
export async function provisionFleet(edge: LocalEdge, dir: string, seed: number, t0: number): Promise<FleetContract[]> {
  const random = seededRandom(seed);
  const contracts: FleetContract[] = [];
  for (const spec of FLEET) {
    const vendor = await createVendor(edge, spec.name);
    for (const [c, siteCount] of spec.sitesPerContract.entries()) {
      const customer = await createCustomer(edge, vendor.api_key, `${spec.name} customer ${c + 1}`);
      const contract = await createContract(edge, vendor.api_key, {
        customer_id: customer.id, plan: payPerUsePlan(), start: new Date(t0).toISOString().slice(0, 10), timezone: "UTC",
      });
      const link = await edgeRequest<{ token: string }>(edge, "POST", `/v1/contracts/${contract.id}/status-links`, vendor.api_key, {});
      const entry: FleetContract = { vendor: spec.name, vendorKey: vendor.api_key, contractId: contract.id, daemon: spec.daemon, statusToken: link.token, sites: [] };
      for (let s = 0; s < siteCount; s++) {
        const name = `${spec.daemon}-c${c + 1}-site${s + 1}`;
        const log = join(dir, `${name}.log`);
        const sim = new FlexlmSimulator({
          file: log, timezone: "UTC", daemon: spec.daemon, features: spec.features,
          seed: Math.floor(random() * 2 ** 31), checkoutRate: 0.2 + random() * 0.25,
        });
        sim.start(t0);
        const { enrollment_token } = await createEnrollment(edge, vendor.api_key, contract.id);
        entry.sites.push({
          name, contract: entry, state: join(dir, name), log, sim, clock: t0,
          jitterSeed: Math.floor(random() * 2 ** 31), enrollmentToken: enrollment_token,
        });
      }
      contracts.push(entry);
    }
  }
  return contracts;
}

/** Runs a site's simulated server `steps` steps further; `last` shuts it down cleanly, so every
 *  session it ever opened is closed and counted in the truth. */
export function simulate(site: FleetSite, steps: number, last: boolean): void {
  for (let i = 0; i < steps; i++) site.sim.step((site.clock += STEP_MS));
  if (last) site.sim.shutdown((site.clock += STEP_MS));
}

/** The license-seconds a contract must end with, in total and per feature (sorted by feature). */
export function contractTruth(contract: FleetContract): { total: number; byFeature: Array<{ feature: string; license_seconds: number }> } {
  const byFeature = new Map<string, number>();
  for (const site of contract.sites) {
    for (const [feature, ms] of site.sim.closedLicenseMs) byFeature.set(feature, (byFeature.get(feature) ?? 0) + ms / 1000);
  }
  const rows = [...byFeature].map(([feature, license_seconds]) => ({ feature, license_seconds })).sort((a, b) => a.feature.localeCompare(b.feature));
  return { total: rows.reduce((sum, r) => sum + r.license_seconds, 0), byFeature: rows };
}

export function allSites(contracts: readonly FleetContract[]): FleetSite[] {
  return contracts.flatMap((c) => c.sites);
}
