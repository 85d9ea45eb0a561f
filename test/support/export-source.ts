// A source edge's contract export (GET /v1/contracts/:id/export) served on loopback from chains
// made here: for checking `core migrate`'s archiving (scripts/core/migrate.ts) at sizes a real
// edge would take minutes to fill. Every record is hashed and linked as a site's would be, so the
// archive's chain checks pass; `onPage` sees each request before it is answered; `failAt` answers that page 503.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";

export interface ExportSource { url: string; pages: number; close(): Promise<void> }

export async function exportSource(options: { pages: number; recordsPerPage: number; padBytes: number; onPage?: (index: number) => void; failAt?: number }): Promise<ExportSource> {
  const collector = "col_" + "1".repeat(32);
  let prev = ZERO_HASH;
  let seq = 0;
  const hwm = options.pages * options.recordsPerPage;
  const server: Server = createServer((req, res) => {
    const index = Number(new URL(req.url!, "http://x").searchParams.get("cursor") ?? 0);
    options.onPage?.(index);
    if (index === options.failAt) {
      res.statusCode = 503;
      return void res.end('{"error":"unavailable"}');
    }
    // Pages are asked for in order: each is made when asked, so the source holds one at a time.
    const records = [];
    for (let i = 0; i < options.recordsPerPage; i++) {
      const record = { seq: ++seq, prev, kind: "usage", data: { pad: "x".repeat(options.padBytes) } };
      prev = hashCanonical(record);
      records.push({ collector_id: collector, seq: record.seq, hash: prev, record });
    }
    const next = index + 1 < options.pages ? String(index + 1) : null;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ format: "tally-contract-export/v1", collectors: [{ id: collector, site: "plant", public_key: "0".repeat(64), hwm }], grants: [], records, next_cursor: next }));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pages: options.pages,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
