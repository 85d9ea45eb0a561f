// Backing off slows retries down, never speeds them up: a failing source or an edge that does not
// answer is retried at its interval (sync_s, interval_s), doubling, up to 15 minutes — or the
// interval itself when that is longer (a site that syncs hourly is not tried every 15 minutes).
import { describe, expect, it } from "vitest";
import { EdgeLink } from "../../../collector/daemon/edge-link.ts";
import { SourceHealth } from "../../../collector/daemon/source-health.ts";
import { emptyTotals } from "../../../collector/daemon/source-totals.ts";

const MIN = 60_000;

/** The waits between `failures` consecutive failed tries, in minutes. */
function syncWaits(syncS: number, failures: number): number[] {
  const link = new EdgeLink(syncS);
  const waits: number[] = [];
  let now = 0;
  for (let i = 0; i < failures; i++) {
    link.failed(now, "edge_unreachable", "connection refused", true);
    waits.push((link.view.next_at - now) / MIN);
    now = link.view.next_at;
  }
  return waits;
}

function sourceWaits(intervalS: number, failures: number): number[] {
  const health = new SourceHealth("s", "flexlm-lmstat", intervalS, emptyTotals());
  const waits: number[] = [];
  let now = 0;
  for (let i = 0; i < failures; i++) {
    const next = health.failed(now, new Error("lmutil: not found"));
    waits.push((next - now) / MIN);
    now = next;
  }
  return waits;
}

describe("retry backoff", () => {
  it("sync: from sync_s, doubling, at most 15 minutes", () => {
    expect(syncWaits(60, 6)).toEqual([1, 2, 4, 8, 15, 15]);
  });

  it("sync: never sooner than a sync_s longer than 15 minutes", () => {
    expect(syncWaits(3600, 3)).toEqual([60, 60, 60]);
    expect(syncWaits(600, 3)).toEqual([10, 15, 15]);
  });

  it("a source: from its interval, doubling, at most 15 minutes, never sooner than an interval longer than that", () => {
    expect(sourceWaits(60, 6)).toEqual([1, 2, 4, 8, 15, 15]);
    expect(sourceWaits(3600, 3)).toEqual([60, 60, 60]);
  });
});
