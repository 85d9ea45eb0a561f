// `core migrate`: moves a vendor's contracts from one edge to another (a core to Cloudflare, or
// the reverse, or core to core) by cut-over, through the two edges' public APIs:
//   - archive: every contract's export (GET /v1/contracts/:id/export, all pages: terms, sites with
//     their keys, every record as signed, chains checked here) and its open statement, written
//     to the archive dir — the history stays verifiable after the source is switched off;
//   - directory: customers and contracts re-created on the target with their terms, the current
//     plan and each grant's remaining units carried over as a grant of the same priority and
//     expiry (idempotent: a second run re-creates nothing);
//   - sites: one enrollment token per source site, for `collector init` against the target.
// Records are not replayed into the target: a batch is accepted only under its site's signature,
// and the edge keeps the records but not the checkpoint signatures that came with them (see
// docs/self-hosting.md "Moving between edges"). Vendor keys come from the environment:
// SOURCE_VENDOR_KEY and TARGET_VENDOR_KEY.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import type { CoreLog } from "./core-log.ts";
import { CoreExit } from "./exit.ts";

interface Edge { url: string; key: string }
interface Page<T> { items: T[]; next_cursor: string | null }
interface Contract { id: string; customer_id: string; plan: Record<string, unknown>; start: string; timezone: string; statement_grace_h: number; expected_sync_s: number }
interface Grant { id: string; remaining: string; priority: number; effective_at: string | null; expires_at: string | null }
interface ExportPage {
  collectors: Array<{ id: string; site: string; public_key: string; hwm: number }>;
  records: Array<{ collector_id: string; seq: number; hash: string; record: Record<string, unknown> & { prev: string; seq: number } }>;
  next_cursor: string | null;
}

async function call<T>(edge: Edge, method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
  const r = await fetch(edge.url + path, {
    method,
    headers: { authorization: `Bearer ${edge.key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new CoreExit(1, `${method} ${edge.url}${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function all<T>(edge: Edge, path: string): Promise<T[]> {
  const items: T[] = [];
  for (let cursor: string | null = null; ;) {
    const page: Page<T> = await call(edge, "GET", `${path}?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    items.push(...page.items);
    if (!(cursor = page.next_cursor)) return items;
  }
}

/** Every page of a contract's export into `file` (one JSON page per line); each site's chain checked. */
async function archiveExport(source: Edge, contractId: string, file: string): Promise<{ records: number; sites: ExportPage["collectors"] }> {
  const lines: string[] = [];
  const heads = new Map<string, { seq: number; hash: string }>();
  let sites: ExportPage["collectors"] = [];
  let records = 0;
  for (let cursor: string | null = null; ;) {
    const page: ExportPage = await call(source, "GET", `/v1/contracts/${contractId}/export${cursor ? `?cursor=${cursor}` : ""}`);
    lines.push(JSON.stringify(page));
    sites = page.collectors;
    for (const r of page.records) {
      const head = heads.get(r.collector_id) ?? { seq: 0, hash: ZERO_HASH };
      if (r.seq !== head.seq + 1 || r.record.seq !== r.seq || r.record.prev !== head.hash || hashCanonical(r.record) !== r.hash) {
        throw new CoreExit(1, `export of ${contractId}: the chain of ${r.collector_id} breaks at seq ${r.seq}`);
      }
      heads.set(r.collector_id, { seq: r.seq, hash: r.hash });
      records++;
    }
    if (!(cursor = page.next_cursor)) break;
  }
  for (const site of sites) {
    if ((heads.get(site.id)?.seq ?? 0) !== site.hwm) throw new CoreExit(1, `export of ${contractId}: ${site.id} lists ${heads.get(site.id)?.seq ?? 0} records, its hwm is ${site.hwm}`);
  }
  writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
  return { records, sites };
}

export async function migrate(options: { from: string; to: string; archive: string; env: NodeJS.ProcessEnv; log: CoreLog }): Promise<number> {
  const sourceKey = options.env.SOURCE_VENDOR_KEY;
  const targetKey = options.env.TARGET_VENDOR_KEY;
  if (!sourceKey || !targetKey) throw new CoreExit(2, "migrate needs SOURCE_VENDOR_KEY and TARGET_VENDOR_KEY in the environment (vendor API keys on each edge)");
  const source = { url: options.from.replace(/\/$/, ""), key: sourceKey };
  const target = { url: options.to.replace(/\/$/, ""), key: targetKey };
  mkdirSync(join(options.archive, "exports"), { recursive: true, mode: 0o700 });
  mkdirSync(join(options.archive, "statements"), { recursive: true, mode: 0o700 });

  const customers = new Map<string, string>();
  for (const c of await all<{ id: string; name: string; external_id?: string | null }>(source, "/v1/customers")) {
    const made = await call<{ id: string }>(target, "POST", "/v1/customers", { name: c.name, ...(c.external_id ? { external_id: c.external_id } : {}) }, `migrate-${c.id}`);
    customers.set(c.id, made.id);
  }
  const moved: Array<Record<string, unknown>> = [];
  for (const contract of await all<Contract>(source, "/v1/contracts")) {
    const archived = await archiveExport(source, contract.id, join(options.archive, "exports", `${contract.id}.jsonl`));
    const statement = await call<unknown>(source, "GET", `/v1/contracts/${contract.id}/statement`);
    writeFileSync(join(options.archive, "statements", `${contract.id}.json`), JSON.stringify(statement, null, 2) + "\n", { mode: 0o600 });
    const balance = await call<{ grants?: Grant[] }>(source, "GET", `/v1/contracts/${contract.id}/balance`);

    const made = await call<{ id: string }>(target, "POST", "/v1/contracts", {
      customer_id: customers.get(contract.customer_id), plan: contract.plan, start: contract.start, timezone: contract.timezone,
      statement_grace_h: contract.statement_grace_h, expected_sync_s: contract.expected_sync_s,
    }, `migrate-${contract.id}`);
    const grants = [];
    for (const g of balance.grants ?? []) {
      if (Number(g.remaining) <= 0) continue;
      await call(target, "POST", `/v1/contracts/${made.id}/grants`, {
        amount: g.remaining, priority: g.priority, ...(g.expires_at ? { expires_at: g.expires_at } : {}), idempotency_key: `migrated-${g.id}`,
      });
      grants.push({ from: g.id, amount: g.remaining });
    }
    const sites = [];
    for (const site of archived.sites) {
      const enrollment = await call<{ enrollment_token: string; expires_at: string }>(target, "POST", `/v1/contracts/${made.id}/enrollments`, {}, `migrate-${site.id}`);
      sites.push({ from: site.id, site: site.site, hwm: site.hwm, enrollment_token: enrollment.enrollment_token, expires_at: enrollment.expires_at });
    }
    moved.push({ from: contract.id, to: made.id, records_archived: archived.records, grants, sites });
    options.log.write({ event: "migrated_contract", from: contract.id, to: made.id, records_archived: archived.records, grants: grants.length, sites: sites.length });
  }
  // Enrollment tokens are secrets: the file is the operator's alone (0600).
  writeFileSync(join(options.archive, "migration.json"), JSON.stringify({
    format: "tally-migration/v1", from: source.url, to: target.url, migrated_at: new Date().toISOString(),
    customers: Object.fromEntries(customers), contracts: moved,
  }, null, 2) + "\n", { mode: 0o600 });
  return 0;
}
