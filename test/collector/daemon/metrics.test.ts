// /metrics renders the daemon's status as Prometheus text (exposition format 0.0.4): every metric
// the issue lists, with HELP and TYPE, label values escaped, one sample per source and feature.
import { describe, expect, it } from "vitest";
import type { DaemonStatus } from "../../../collector/daemon/daemon-status.ts";
import { renderMetrics, serveMetrics } from "../../../collector/daemon/metrics-server.ts";
import { freePort } from "../../support/local-edge.ts";

const source = (name: string, up: boolean, licenses: Record<string, number>) => ({
  source: name, kind: "flexlm-debuglog", up, at: 1, last_ok: 1, last_error: null, consecutive_failures: up ? 0 : 3, retry_at: null,
  totals: { lines: 120, unknown_lines: 4, bytes: 9000, records: 30, out_of_scope: 2 },
  progress: { offset: 9000, size: 10_000, percent: 90, caught_up: false, lines_per_s: 10, eta_s: 100 }, licenses_in_use: licenses,
});

const status: DaemonStatus = {
  format: "tally-daemon-status/v1", pid: 1, started_at: 0, at: 0, running: true,
  sources: [source("lmgrd", true, { MATLAB: 3, 'Sim"ul\\ink': 1 }), source("rlm", false, {})],
  log: { first_seq: 1, last_seq: 500, acked_seq: 420, pending: 80 }, appended: 80,
  last_receipt: { acked_seq: 420, received_at: 1_764_280_000_123 },
  sync: { online: false, stopped: { code: "revoked", message: "m", at: 1 }, last_attempt: 1, last_success: null, last_error: null, consecutive_failures: 2, next_at: 2 },
  disk_full: null, scope: null, pseudonymise: false,
};

describe("metrics", () => {
  it("renders every listed metric with HELP and TYPE and escaped labels", () => {
    const text = renderMetrics(status);
    for (const name of ["tally_collector_source_up", "tally_collector_source_lines_total", "tally_collector_source_unknown_lines_total", "tally_collector_records_appended_total", "tally_collector_records_pending", "tally_collector_last_receipt_timestamp_seconds", "tally_collector_licenses_in_use"]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} (gauge|counter)$`, "m"));
    }
    expect(text).toContain('tally_collector_source_up{source="lmgrd"} 1\ntally_collector_source_up{source="rlm"} 0\n');
    expect(text).toContain('tally_collector_source_lines_total{source="lmgrd"} 120\n');
    expect(text).toContain('tally_collector_source_unknown_lines_total{source="rlm"} 4\n');
    expect(text).toContain('tally_collector_licenses_in_use{source="lmgrd",feature="MATLAB"} 3\n');
    expect(text).toContain('tally_collector_licenses_in_use{source="lmgrd",feature="Sim\\"ul\\\\ink"} 1\n');
    expect(text).toContain("tally_collector_records_appended_total 500\n");
    expect(text).toContain("tally_collector_records_pending 80\n");
    expect(text).toContain("tally_collector_last_receipt_timestamp_seconds 1764280000.123\n");
    expect(text).toContain('tally_collector_sync_stopped{reason="revoked"} 1\n');
    expect(text).toContain('tally_collector_source_backlog_bytes{source="lmgrd"} 1000\n');
    expect(text).not.toContain("tally_collector_enforcement");
    const enforcing = renderMetrics({ ...status, enforcement: {
      kind: "flexlm", options_file: "/opt/MLM.opt", contract_status: "blocked", excluded: ["MATLAB", "Simulink"], skipped: [],
      reread_pending: true, last_change: null, last_error: null, consecutive_failures: 1, retry_at: 5,
    } });
    expect(enforcing).toContain("\ntally_collector_enforcement_excluded_features 2\n");
    expect(enforcing).toContain("\ntally_collector_enforcement_reread_pending 1\n");
  });

  it("serves GET /metrics as text/plain version 0.0.4, and 404 elsewhere", async () => {
    const port = await freePort();
    const server = await serveMetrics("127.0.0.1", port, () => status);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(await r.text()).toBe(renderMetrics(status));
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      await expect(serveMetrics("127.0.0.1", port, () => status)).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
