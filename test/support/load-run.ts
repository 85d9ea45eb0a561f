// Drives load on a local edge, bounded by request counts (never by time): every simulated site
// posts its signed batches in sequence (one in flight per site, all sites at once), while readers
// alternate a status read with a GET /health (the baseline, under the very same load). Latencies
// go into HDR histograms (node:perf_hooks); every answer that is not the expected 200 is kept.
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import type { LoadSite } from "./load-sites.ts";

export interface LoadError { what: string; status: number; body: string }

export interface Latencies { count: number; p50: number; p90: number; p99: number; max: number }

export interface IngestResult { records: number; batches: number; elapsedMs: number; recordsPerSecond: number; latency: Latencies; errors: LoadError[] }

export interface ReadResult { reads: number; elapsedMs: number; readsPerSecond: number; latency: Latencies; errors: LoadError[] }

function histogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
}

/** Microsecond histogram → milliseconds with 3 decimals. */
function latencies(h: RecordableHistogram): Latencies {
  const ms = (us: number) => Math.round(us) / 1000;
  return { count: h.count, p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

async function timed(h: RecordableHistogram, send: () => Promise<Response>): Promise<{ status: number; text: string }> {
  const t = performance.now();
  try {
    const r = await send();
    const text = await r.text();
    h.record(Math.max(1, Math.round((performance.now() - t) * 1000)));
    return { status: r.status, text };
  } catch (e) {
    return { status: 0, text: String((e as Error & { cause?: unknown }).cause ?? e) };
  }
}

/** Every site sends its batches in order; a site stops at its first failed batch (its next one
 *  would only be a gap). Each receipt must carry the batch's last seq. */
export async function ingest(edgeUrl: string, sites: readonly LoadSite[]): Promise<IngestResult> {
  const h = histogram();
  const errors: LoadError[] = [];
  let records = 0;
  let batches = 0;
  const t0 = performance.now();
  await Promise.all(sites.map(async (site) => {
    for (const [i, body] of site.bodies.entries()) {
      const answer = await timed(h, () => fetch(`${edgeUrl}/v1/collectors/${site.collectorId}/batches`, { method: "POST", headers: { "content-type": "application/json" }, body }));
      let acked: unknown;
      try { acked = (JSON.parse(answer.text) as { receipt?: { acked_seq?: unknown } }).receipt?.acked_seq; } catch { acked = undefined; }
      if (answer.status !== 200 || acked !== site.lastSeqs[i]) {
        errors.push({ what: `batch ${i + 1} of ${site.collectorId}`, status: answer.status, body: answer.text.slice(0, 300) });
        return;
      }
      batches++;
      records += site.lastSeqs[i]! - (site.lastSeqs[i - 1] ?? 0);
    }
  }));
  const elapsedMs = performance.now() - t0;
  return { records, batches, elapsedMs, recordsPerSecond: records / (elapsedMs / 1000), latency: latencies(h), errors };
}

export interface ReadLoad {
  readers: number;
  /** Reads per reader of each target (status, then health, alternately). */
  readsPerReader: number;
  statusPaths: readonly string[];
  /** Readers stop early once this settles (e.g. when the ingest they accompany is done). */
  until?: Promise<unknown>;
}

/** Concurrent readers alternating `GET /status/:token` (JSON) and `GET /health`. */
export async function read(edgeUrl: string, load: ReadLoad): Promise<{ status: ReadResult; health: ReadResult }> {
  const hs = histogram();
  const hh = histogram();
  const statusErrors: LoadError[] = [];
  const healthErrors: LoadError[] = [];
  let done = false;
  void load.until?.then(() => (done = true), () => (done = true));
  let reads = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: load.readers }, async (_, reader) => {
    for (let i = 0; i < load.readsPerReader && !done; i++) {
      const path = load.statusPaths[(reader + i) % load.statusPaths.length]!;
      const s = await timed(hs, () => fetch(edgeUrl + path, { headers: { accept: "application/json" } }));
      if (s.status !== 200 || !s.text.includes('"license_seconds"')) statusErrors.push({ what: `GET ${path}`, status: s.status, body: s.text.slice(0, 300) });
      const hl = await timed(hh, () => fetch(`${edgeUrl}/health`));
      if (hl.status !== 200) healthErrors.push({ what: "GET /health", status: hl.status, body: hl.text.slice(0, 300) });
      reads++;
    }
  }));
  const elapsedMs = performance.now() - t0;
  const result = (h: RecordableHistogram, errors: LoadError[]): ReadResult => ({ reads, elapsedMs, readsPerSecond: reads / (elapsedMs / 1000), latency: latencies(h), errors });
  return { status: result(hs, statusErrors), health: result(hh, healthErrors) };
}
