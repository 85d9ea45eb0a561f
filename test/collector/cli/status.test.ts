// `collector status` while the daemon holds the log (README "The collector CLI": status "works
// while the daemon runs"): it reads the daemon's `daemon.json`, the receipt cursor and the
// contract-doc replica, never the log — and must not contradict what the edge published.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ContractDocServer, MemoryContractDocStorage } from "../../../shared/contract-doc/index.ts";
import { writeDaemonStatus, type DaemonStatus } from "../../../collector/daemon/daemon-status.ts";
import { openReplica } from "../../../collector/contract-doc/replica-file.ts";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { cli, enrolledState } from "./cli-io.ts";

const COLLECTOR = "col_cli_test"; // enrolledState's
const T0 = Date.UTC(2026, 10, 2);
const plan = { unit_name: "token", currency: "USD", period: "month", rates: { "*": "1" } };

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

describe("status while the daemon runs", () => {
  it("shows the last known remaining units (not 'the contract has no grant'), and a receipt newer than daemon.json never makes pending negative", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-status-"));
    dirs.push(dir);
    const state = join(dir, "state");
    await enrolledState(state);
    const paths = statePaths(state);

    // The edge published 100 tokens remaining, reflecting seq 4.
    const server = ContractDocServer.load(new MemoryContractDocStorage());
    server.writeTerms({ plan, rates: plan.rates, unit_name: "token", currency: "USD", period: "month", timezone: "UTC", start_date: "2026-11-01", start_at: "2026-11-01T00:00:00Z", scope: null });
    server.writeBalance({ as_of: "2026-11-02T02:00:00Z", remaining_units: "100", period: { start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z" }, collectors: { [COLLECTOR]: { acked_seq: 4 } } });
    const replica = openReplica(paths, COLLECTOR);
    replica.applySyncAnswer(server.sync(COLLECTOR, replica.syncRequest()));

    // "The daemon": this process holds the log; 4 records, all receipted; its daemon.json was
    // written a moment before the last append and receipt (it is rewritten at most once a second).
    const site = await openSite(paths);
    try {
      const usage = (i: number) => ({ kind: "usage" as const, data: { source: "lmgrd", daemon: "MLM", feature: "MATLAB", user: "ada", host: "ws-1", session: `s${i}`, start: T0 + i * 60_000, end: T0 + (i + 1) * 60_000, count: 1, final: true } });
      await site.append([usage(1), usage(2), usage(3), usage(4)]);
      await site.log.acknowledge(4, { receipt: { collector_id: COLLECTOR, acked_seq: 4, head: "0".repeat(64), received_at: T0 + 3_600_000, key_id: "edk_test" }, signature: "0".repeat(128) });
      const daemon: DaemonStatus = {
        format: "tally-daemon-status/v1", pid: process.pid, started_at: T0, at: T0 + 3_599_000, running: true, sources: [],
        log: { first_seq: 1, last_seq: 3, acked_seq: 0, pending: 3 }, appended: 3, last_receipt: null,
        sync: { online: true, stopped: null, last_attempt: null, last_success: null, last_error: null, consecutive_failures: 0, next_at: 0 },
        disk_full: null, scope: null, pseudonymise: false,
      };
      await writeDaemonStatus(state, daemon);

      const json = await cli(["status", "--state", state, "--json"]);
      expect(json.status).toBe(0);
      expect(json.json).toMatchObject({
        locked: true, last_seq: 4, acked_seq: 4, pending: 0, remaining_units: null,
        last_known: { remaining_units: "100", as_of: "2026-11-02T02:00:00Z", reflects_acked_seq: 4 },
        daemon: { running: true },
      });
      const text = await cli(["status", "--state", state]);
      expect(text.stdout).toMatch(/^records: 4, receipted: 4, pending: 0$/m);
      expect(text.stdout).toMatch(/^remaining \(last known\): 100 token as of 2026-11-02T02:00:00Z, through seq 4 \(the running daemon holds the log: use since then is not estimated\)$/m);
      expect(text.stdout).not.toMatch(/no grant/);
    } finally {
      await site.close();
    }
  });

  it("an edge that answers but refused the last sync is not shown as a plain 'edge reachable'", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-status-"));
    dirs.push(dir);
    const state = join(dir, "state");
    await enrolledState(state);
    const sync = { online: true, stopped: null, last_attempt: T0 + 120_000, last_success: T0, consecutive_failures: 1, next_at: T0 + 180_000 };
    const daemon = (last_error: DaemonStatus["sync"]["last_error"]): DaemonStatus => ({
      format: "tally-daemon-status/v1", pid: process.pid, started_at: T0, at: T0 + 121_000, running: true, sources: [],
      log: { first_seq: 1, last_seq: 9, acked_seq: 4, pending: 5 }, appended: 9, last_receipt: null,
      sync: { ...sync, last_error }, disk_full: null, scope: null, pseudonymise: false,
    });

    await writeDaemonStatus(state, daemon({ at: T0 + 120_000, code: "batch_refused", message: "edge refused batch 5…9: clock_skew: the checkpoint is 2 h ahead" }));
    expect((await cli(["status", "--state", state])).stdout).toMatch(/^sync: edge reachable, but the last sync failed \(batch_refused\): edge refused batch 5…9: clock_skew/m);
    // An error before the last sync that went through is history, not the link's state.
    await writeDaemonStatus(state, daemon({ at: T0 - 60_000, code: "edge_unreachable", message: "edge unreachable: ECONNREFUSED" }));
    expect((await cli(["status", "--state", state])).stdout).toMatch(/^sync: edge reachable$/m);
  });
});
