// Inputs that would cost unbounded work if the edge read them naively (Guarantee 4): a gzip bomb
// (1 GiB of zeros, ~1 MiB compressed), 1 MiB batches of valid-looking records with one bad
// record, batches over the record and byte caps, deep nesting and huge numbers. Each one must be
// refused with its exact code; the caller also proves it changed nothing. Never timed.
import { canonicalJson, hashCanonical, signBatch, type ChainRecord } from "../../../shared/protocol/index.ts";
import { HOUR, NOW } from "../edge-fixture.ts";
import { between, pick, seededRandom } from "./budget.ts";
import type { FuzzRequest, World } from "./fuzz-endpoints.ts";

const GIB = 1024 * 1024 * 1024;

/** gzip of `bytes` zeros, compressed in 1 MiB steps (never held decoded). */
async function gzipZeros(bytes: number): Promise<Uint8Array> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const chunks: Uint8Array[] = [];
  const reading = (async () => {
    const reader = stream.readable.getReader();
    for (;;) { const { done, value } = await reader.read(); if (done) break; chunks.push(value); }
  })();
  const zeros = new Uint8Array(1024 * 1024);
  for (let sent = 0; sent < bytes; sent += zeros.length) await writer.write(zeros);
  await writer.close();
  await reading;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

async function gzipText(text: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

/** `count` records continuing `world.site`'s receipted chain (seq 4…), ~330 bytes each. */
function longChain(world: World, count: number): ChainRecord[] {
  const records: ChainRecord[] = [];
  let prev = hashCanonical(world.site.chain.records[2]!);
  for (let i = 0; i < count; i++) {
    const start = NOW - 20 * HOUR + i * 1000;
    const record: ChainRecord = {
      v: 1, collector_id: world.site.collectorId, seq: 4 + i, prev, ts: NOW - HOUR, kind: "usage",
      data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: `user-${i % 97}`, host: `ws-${i % 13}`, session: `bulk-${i}`, start, end: start + 1000, count: 1, final: true },
    };
    records.push(record);
    prev = hashCanonical(record);
  }
  return records;
}

const json = { "Content-Type": "application/json" };

export async function bombCases(world: World, seed: number): Promise<Array<{ endpoint: string; request: FuzzRequest }>> {
  const random = seededRandom(seed);
  const batches = `/v1/collectors/${world.site.collectorId}/batches`;
  const bomb = await gzipZeros(GIB);
  const cases: Array<{ endpoint: string; request: FuzzRequest }> = [
    { endpoint: "gzip bomb", request: { method: "POST", path: batches, headers: { ...json, "Content-Encoding": "gzip" }, body: bomb, label: `batch, 1 GiB of zeros as ${bomb.byteLength} gzip bytes`, expect: { status: 413, error: "batch_too_large" } } },
    { endpoint: "gzip bomb", request: { method: "POST", path: `/v1/collectors/${world.site.collectorId}/bundles`, headers: { ...json, "Content-Encoding": "gzip" }, body: bomb, label: "bundle, 1 GiB of zeros", expect: { status: 413, error: "bundle_too_large" } } },
    { endpoint: "gzip bomb", request: { method: "POST", path: "/v1/customers", headers: { ...json, "Content-Encoding": "gzip", Authorization: `Bearer ${world.site.vendor.api_key}` }, body: bomb, label: "API body, 1 GiB of zeros", expect: { status: 413, error: "too_large" } } },
  ];

  // 1 MiB batches of ~3,000 valid-looking records, signed, with one bad record at a random place.
  const chain = longChain(world, 3000);
  const defects = [
    { name: "a float", expect: { status: 400, error: "malformed" }, apply: (text: string) => text.replace(/"count":1,/, '"count":1.0,') },
    { name: "a missing field", expect: { status: 400, error: "malformed" }, apply: (text: string) => text.replace(/"kind":"usage",/, "") },
    { name: "another collector's id", expect: { status: 403, error: "collector_mismatch" }, apply: (text: string) => text.replace(world.site.collectorId, world.stranger.collectorId) },
    { name: "a broken prev link", expect: { status: 409, error: "prev_mismatch" }, apply: (text: string) => text.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${"e".repeat(64)}"`) },
    { name: "an unsafe integer", expect: { status: 400, error: "malformed" }, apply: (text: string) => text.replace(/"ts":\d+/, '"ts":9007199254740993') },
  ];
  const batch = signBatch(chain, NOW, world.site.keys.secretKey);
  const recordTexts = chain.map((r) => canonicalJson(r));
  for (let n = 0; n < 8; n++) {
    const defect = pick(random, defects);
    const at = between(random, 1, chain.length - 2); // never the first: it would not show "one bad record"
    const texts = recordTexts.map((t, i) => (i === at ? defect.apply(t) : t));
    const text = `{"records":[${texts.join(",")}],"checkpoint":${canonicalJson(batch.checkpoint)},"signature":"${batch.signature}"}`;
    const gzip = random() < 0.5;
    cases.push({ endpoint: "1 MiB batch, one bad record", request: {
      method: "POST", path: batches, headers: gzip ? { ...json, "Content-Encoding": "gzip" } : json, body: gzip ? await gzipText(text) : text,
      label: `${(text.length / 1024 / 1024).toFixed(2)} MiB, ${defect.name} at record ${at}${gzip ? ", gzip" : ""}`, expect: defect.expect,
    } });
  }

  // Over the caps: records, decoded bytes (plain and gzip), nesting and numbers.
  const many = longChain(world, 5001);
  const tooMany = JSON.stringify(signBatch(many, NOW, world.site.keys.secretKey));
  const padded = JSON.stringify({ ...batch, records: chain.map((r) => ({ ...r, data: { ...r.data, pad: "p".repeat(1200) } })) });
  cases.push(
    { endpoint: "oversized batch", request: { method: "POST", path: batches, headers: json, body: tooMany, label: "5,001 records", expect: { status: 413, error: "batch_too_large" } } },
    { endpoint: "oversized batch", request: { method: "POST", path: batches, headers: json, body: padded, label: `${(padded.length / 1024 / 1024).toFixed(1)} MiB plain`, expect: { status: 413, error: "batch_too_large" } } },
    { endpoint: "oversized batch", request: { method: "POST", path: batches, headers: { ...json, "Content-Encoding": "gzip" }, body: await gzipText(padded), label: "over 4 MiB once gunzipped", expect: { status: 413, error: "batch_too_large" } } },
    { endpoint: "deep nesting", request: { method: "POST", path: batches, headers: json, body: "[".repeat(100_000) + "]".repeat(100_000), label: "batch, 100,000 levels", expect: { status: 400, error: "malformed" } } },
    { endpoint: "deep nesting", request: { method: "POST", path: "/v1/customers", headers: { ...json, Authorization: `Bearer ${world.site.vendor.api_key}` }, body: '{"name":'.repeat(6000) + '"x"' + "}".repeat(6000), label: "API body, 6,000 levels", expect: { status: 422, error: "invalid_request" } } },
    { endpoint: "huge numbers", request: { method: "POST", path: batches, headers: json, body: `{"records":[${"1".repeat(5000)}],"checkpoint":1e400,"signature":-0}`, label: "5,000-digit integer", expect: { status: 400, error: "malformed" } } },
    { endpoint: "huge numbers", request: { method: "POST", path: "/v1/contracts", headers: { ...json, Authorization: `Bearer ${world.site.vendor.api_key}` }, body: `{"customer_id":"${world.customerId}","plan":{"currency":"USD","unit_name":"t","period":"month","rates":{"*":"1"}},"start":"2026-11-01","timezone":"UTC","statement_grace_h":1e400}`, label: "statement_grace_h 1e400", expect: { status: 422, error: "invalid_request" } } },
  );
  return cases;
}
