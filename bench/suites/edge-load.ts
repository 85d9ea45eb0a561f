// Edge under load (guarantee 7): 100 enrolled sites ingest signed batches at once (each site in
// sequence, its own chain) while readers alternate `GET /status/:token` with `GET /health`.
// Figures, each beside a baseline measured in the same run on the same edge:
//   - ingest records/s from 100 concurrent sites vs one site ingesting alone, sequentially;
//   - batch latency p50/p99 under that load vs the lone site's;
//   - status read latency p50/p90/p99 vs GET /health latency under the very same load.
// A run with any failed request is not a measurement: the suite throws.
// Scale: EDGE_LOAD_BATCHES (batches per site, default 3), EDGE_LOAD_RECORDS (per batch, default 50).
import { startLocalEdge } from "../../test/support/local-edge.ts";
import { enrollLoadFleet } from "../../test/support/load-sites.ts";
import { ingest, read, type LoadError } from "../../test/support/load-run.ts";
import { latencyFigure, throughputFigure, type BenchFigure } from "../figure.ts";

const BATCHES = Number(process.env.EDGE_LOAD_BATCHES ?? 3);
const RECORDS = Number(process.env.EDGE_LOAD_RECORDS ?? 50);
const SITES = { contracts: 10, sitesPerContract: 10 };
const READERS = 16;

function refuseErrors(what: string, errors: readonly LoadError[]): void {
  if (errors.length > 0) throw new Error(`${what}: ${errors.length} failed requests, e.g. ${JSON.stringify(errors.slice(0, 3))}`);
}

export default async function edgeLoad(): Promise<BenchFigure[]> {
  const edge = await startLocalEdge({ runtime: "wrangler" }); // as `npm start` serves it, comparable with earlier runs
  try {
    // The lone site gets as many batches as the whole fleet sends per site, times ten, so its
    // rate is measured over a comparable stretch.
    const lone = await enrollLoadFleet(edge.url, edge.adminToken, { contracts: 1, sitesPerContract: 1, batchesPerSite: BATCHES * 10, recordsPerBatch: RECORDS, seed: 1 });
    const fleet = await enrollLoadFleet(edge.url, edge.adminToken, { ...SITES, batchesPerSite: BATCHES, recordsPerBatch: RECORDS, seed: 2 });
    const sites = fleet.contracts.flatMap((c) => c.sites);

    const alone = await ingest(edge.url, lone.contracts[0]!.sites);
    refuseErrors("lone site", alone.errors);

    const ingesting = ingest(edge.url, sites);
    const reading = read(edge.url, {
      readers: READERS, readsPerReader: 10_000, until: ingesting,
      statusPaths: fleet.contracts.map((c) => `/status/${c.statusToken}`),
    });
    const [loaded, reads] = await Promise.all([ingesting, reading]);
    refuseErrors("100 sites", loaded.errors);
    refuseErrors("status reads", reads.status.errors);
    refuseErrors("health reads", reads.health.errors);

    const load = `${sites.length} sites × ${BATCHES} batches × ${RECORDS} records, ${READERS} readers; wrangler dev (local workerd); 0 errors`;
    const s = reads.status.latency;
    const h = reads.health.latency;
    return [
      throughputFigure("ingest, 100 sites at once", "records/s", loaded.recordsPerSecond, "one site alone, sequential batches", alone.recordsPerSecond,
        `${loaded.records} records in ${(loaded.elapsedMs / 1000).toFixed(1)} s; ${load}`),
      latencyFigure("batch POST p50, 100 sites at once", "ms", loaded.latency.p50, "batch POST p50, one site alone", alone.latency.p50),
      latencyFigure("batch POST p99, 100 sites at once", "ms", loaded.latency.p99, "batch POST p99, one site alone", alone.latency.p99),
      latencyFigure("GET /status/:token p50 under ingest load", "ms", s.p50, "GET /health p50, same load", h.p50,
        `${s.count} status reads, ${(reads.status.readsPerSecond).toFixed(0)} reads/s of each kind`),
      latencyFigure("GET /status/:token p90 under ingest load", "ms", s.p90, "GET /health p90, same load", h.p90),
      latencyFigure("GET /status/:token p99 under ingest load", "ms", s.p99, "GET /health p99, same load", h.p99),
    ];
  } finally {
    await edge.stop();
  }
}
