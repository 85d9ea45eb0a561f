// `metrics_listen`: Prometheus text (exposition format 0.0.4) at GET /metrics, from the daemon's
// latest status — the names flexlm_exporter users already graph (source_up, licenses_in_use) plus
// the collector's own (records pending, last receipt, sync stopped, disk full).
import { createServer, type Server } from "node:http";
import type { DaemonStatus } from "./daemon-status.ts";

type Labels = Record<string, string>;
interface Sample { labels?: Labels; value: number }
interface Family { name: string; type: "gauge" | "counter"; help: string; samples: Sample[] }

export function renderMetrics(s: DaemonStatus): string {
  const per = (value: (src: DaemonStatus["sources"][number]) => number): Sample[] => s.sources.map((src) => ({ labels: { source: src.source }, value: value(src) }));
  const families: Family[] = [
    { name: "tally_collector_source_up", type: "gauge", help: "1 when the source's last read worked and its license server is up", samples: per((x) => (x.up ? 1 : 0)) },
    { name: "tally_collector_source_lines_total", type: "counter", help: "Lines (or output lines) the source has read", samples: per((x) => x.totals.lines) },
    { name: "tally_collector_source_unknown_lines_total", type: "counter", help: "Lines the source's parser did not understand", samples: per((x) => x.totals.unknown_lines) },
    { name: "tally_collector_source_records_total", type: "counter", help: "Records the source has appended to the chain", samples: per((x) => x.totals.records) },
    { name: "tally_collector_source_out_of_scope_total", type: "counter", help: "Usage and denials outside the contract's scope, kept at the site", samples: per((x) => x.totals.out_of_scope) },
    { name: "tally_collector_source_consecutive_failures", type: "gauge", help: "Failed reads in a row (0 when healthy)", samples: per((x) => x.consecutive_failures) },
    { name: "tally_collector_source_backlog_bytes", type: "gauge", help: "Bytes of the followed file not read yet", samples: s.sources.filter((x) => x.progress).map((x) => ({ labels: { source: x.source }, value: Math.max(0, x.progress!.size - x.progress!.offset) })) },
    {
      name: "tally_collector_licenses_in_use", type: "gauge", help: "Licenses held now, per source and feature",
      samples: s.sources.flatMap((x) => Object.entries(x.licenses_in_use).map(([feature, value]) => ({ labels: { source: x.source, feature }, value }))),
    },
    { name: "tally_collector_records_appended_total", type: "counter", help: "Records in the site's chain (its last seq)", samples: [{ value: s.log.last_seq }] },
    { name: "tally_collector_records_pending", type: "gauge", help: "Records appended but not yet receipted by the edge", samples: [{ value: s.log.pending }] },
    { name: "tally_collector_last_receipt_timestamp_seconds", type: "gauge", help: "When the edge signed the last receipt (0: never)", samples: [{ value: s.last_receipt ? s.last_receipt.received_at / 1000 : 0 }] },
    { name: "tally_collector_edge_up", type: "gauge", help: "1 when the last sync reached the edge", samples: [{ value: s.sync.online ? 1 : 0 }] },
    { name: "tally_collector_sync_stopped", type: "gauge", help: "1 while syncing waits for a person (revoked, refused, equivocation, edge regression)", samples: [{ labels: { reason: s.sync.stopped?.code ?? "" }, value: s.sync.stopped ? 1 : 0 }] },
    { name: "tally_collector_disk_full", type: "gauge", help: "1 while appends are paused because the disk is full", samples: [{ value: s.disk_full ? 1 : 0 }] },
    ...(s.storage ? [
      { name: "tally_collector_log_bytes", type: "gauge" as const, help: "Bytes of the segments the log keeps until receipts release them", samples: [{ value: s.storage.log_bytes }] },
      ...(s.storage.free_bytes !== null ? [{ name: "tally_collector_log_disk_free_bytes", type: "gauge" as const, help: "Free bytes on the file system holding the log", samples: [{ value: s.storage.free_bytes }] }] : []),
      { name: "tally_collector_log_disk_warning", type: "gauge" as const, help: "1 while the records waiting for receipts outweigh the log disk's free space", samples: [{ value: s.storage.warning ? 1 : 0 }] },
    ] : []),
    ...(s.enforcement ? [
      { name: "tally_collector_enforcement_excluded_features", type: "gauge" as const, help: "Features the options file's tally enforcement block excludes now (0: no block)", samples: [{ value: s.enforcement.excluded.length }] },
      { name: "tally_collector_enforcement_reread_pending", type: "gauge" as const, help: "1 while the license manager has not yet reread a changed options file", samples: [{ value: s.enforcement.reread_pending ? 1 : 0 }] },
    ] : []),
  ];
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const sample of f.samples) out += `${f.name}${labelText(sample.labels)} ${formatValue(sample.value)}\n`;
  }
  return out;
}

function labelText(labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return "";
  return `{${Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}

/** Serves the latest status; resolves once listening (rejects on EADDRINUSE and the like). */
export async function serveMetrics(host: string, port: number, latest: () => DaemonStatus | null): Promise<Server> {
  const server = createServer((req, res) => {
    const status = latest();
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    if (!status) {
      res.writeHead(503, { "content-type": "text/plain" }).end("starting\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(renderMetrics(status));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
