// Guarantee 2 at the ContractDO: a crash at each step of a batch's apply gives exactly-once,
// never zero. The DO throws at an armed step (worker/contract/crash-points.ts); the client sees a
// 5xx and retries the same batch, as a collector does. Asserted: the balance holds the batch's
// exact license-seconds once, and D1 after the drain equals the DO ledger.
import { describe, it, expect } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { call, contractStub, doState, enrolledSite, HOUR, NOW, ok, postBatch } from "./edge-fixture.ts";
import { drainAll, expectD1EqualsDO } from "./projection-check.ts";
import { CRASH_STEPS, CrashPoints, type CrashStep } from "../../worker/contract/crash-points.ts";

const alarmOf = (contractId: string) => runInDurableObject(contractStub(contractId), (_i, state) => state.storage.getAlarm());

describe("a crash in the DO's batch apply (guarantee 2)", () => {
  for (const step of CRASH_STEPS) {
    it(`crash at ${step}: the retried batch is counted exactly once, and D1 converges`, async () => {
      const site = await enrolledSite();
      site.chain.usage({ count: 1, start: NOW - 3 * HOUR, end: NOW - 2 * HOUR });
      site.chain.usage({ count: 2, start: NOW - 3 * HOUR, end: NOW - 2.5 * HOUR, session: "b" });
      site.chain.usage({ count: 3, start: NOW - 2 * HOUR, end: NOW - 2 * HOUR + 600_000, feature: "Simulink", session: "c" });
      const exact = site.chain.records.reduce((s, r) => { const d = r.data as { count: number; start: number; end: number }; return s + d.count * (d.end - d.start) / 1000; }, 0);
      expect(exact).toBe(3600 + 3600 + 1800);
      const batch = site.chain.batch(1, 3);
      const before = await doState(site.contractId);

      await runInDurableObject(contractStub(site.contractId), (instance) => instance.armCrash(step as CrashStep));
      const crashed = await postBatch(site.collectorId, batch);
      expect(crashed.status).toBe(500);
      expect((await crashed.json() as { error: string }).error).toBe("internal");
      const afterCrash = await doState(site.contractId);
      if (step === "before_commit") {
        expect(afterCrash).toEqual(before); // the whole transaction rolled back
      } else {
        expect(afterCrash.chains[0].hwm).toBe(3); // committed: the crash came after
        expect(afterCrash.records).toHaveLength(3);
        expect(await alarmOf(site.contractId)).toBeNull(); // it died before arming the drain
      }

      const retried = await ok(await postBatch(site.collectorId, batch));
      expect(retried.receipt).toMatchObject({ collector_id: site.collectorId, acked_seq: 3, received_at: NOW });
      expect(await ok(await postBatch(site.collectorId, batch))).toEqual(retried); // and a replay of the retry answers the same
      expect(await alarmOf(site.contractId)).not.toBeNull(); // a replay arms the drain of what is pending

      const balance = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
      expect(balance.usage.license_seconds).toBe(exact);
      expect(balance.usage.by_feature.map((f: { feature: string; license_seconds: number }) => [f.feature, f.license_seconds])).toEqual([["MATLAB", 7200], ["Simulink", 1800]]);
      await drainAll(site.contractId);
      await expectD1EqualsDO(site.contractId);
    });
  }

  it("crash points are refused outside test and development", () => {
    expect(() => new CrashPoints().arm("before_commit", "production")).toThrow("only available in test and development");
    expect(() => new CrashPoints().arm("nowhere" as CrashStep, "test")).toThrow("unknown crash step");
  });
});
