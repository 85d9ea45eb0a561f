// `core migrate`: moves a vendor's contracts from one edge to another (a core to Cloudflare, or
// the reverse, or core to core) by cut-over, through the two edges' public APIs:
//   - archive: every contract's export (GET /v1/contracts/:id/export, all pages: terms, grants,
//     sites with their keys, every record as signed, chains checked here) and its open statement,
//     written to the archive dir — the history stays verifiable after the source is switched off;
//   - directory: customers and contracts re-created on the target with their terms and current plan,
//     each once: what a run made is in the archive's journal (migrate-journal.ts), which a rerun
//     (after a crash, or days later) reads back;
//   - sites, by default with their history (replay-sites.ts): each site registered on the target
//     under its id and key, the grants re-created as they were, every batch replayed with the time
//     the source received it — balances and statements (closed periods' too) come out the same,
//     and each site continues its own chain against the target with a new collector_token;
//   - only when some site's history cannot be replayed (batches the source accepted before it kept
//     checkpoints): a fresh start, as before — each grant's remaining units carried over and one
//     enrollment token per site, for `collector init` against the target. The output says which.
// Vendor keys come from the environment: SOURCE_VENDOR_KEY and TARGET_VENDOR_KEY.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import type { CoreLog } from "./core-log.ts";
import { CoreExit } from "./exit.ts";
import { all, call, type Edge } from "./edge-client.ts";
import { MigrationJournal } from "./migrate-journal.ts";
import { replayability, replaySites, type SourceGrant } from "./replay-sites.ts";

interface Contract { id: string; customer_id: string; plan: Record<string, unknown>; start: string; timezone: string; statement_grace_h: number; expected_sync_s: number }
interface Grant { id: string; remaining: string; priority: number; effective_at: string | null; expires_at: string | null }
interface ExportPage {
  collectors: Array<{ id: string; site: string; public_key: string; hwm: number }>;
  grants: SourceGrant[];
  records: Array<{ collector_id: string; seq: number; hash: string; record: Record<string, unknown> & { prev: string; seq: number } }>;
  next_cursor: string | null;
}

/**
 * Every page of a contract's export into `file` (one JSON page per line), each site's chain checked.
 * Each page goes to disk as it comes, so memory holds one page whatever the contract's size; the
 * file gets its name only when complete (a run that died leaves a `.partial`, written anew).
 */
export async function archiveExport(source: Edge, contractId: string, file: string): Promise<{ records: number; sites: ExportPage["collectors"]; grants: SourceGrant[] }> {
  const heads = new Map<string, { seq: number; hash: string }>();
  let sites: ExportPage["collectors"] = [];
  let grants: SourceGrant[] = [];
  let records = 0;
  const partial = `${file}.partial`;
  const fd = openSync(partial, "w", 0o600);
  try {
    for (let cursor: string | null = null; ;) {
      const page: ExportPage = await call(source, "GET", `/v1/contracts/${contractId}/export${cursor ? `?cursor=${cursor}` : ""}`);
      writeSync(fd, JSON.stringify(page) + "\n");
      sites = page.collectors;
      grants = page.grants;
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
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  for (const site of sites) {
    if ((heads.get(site.id)?.seq ?? 0) !== site.hwm) throw new CoreExit(1, `export of ${contractId}: ${site.id} lists ${heads.get(site.id)?.seq ?? 0} records, its hwm is ${site.hwm}`);
  }
  renameSync(partial, file);
  return { records, sites, grants };
}

export async function migrate(options: { from: string; to: string; archive: string; env: NodeJS.ProcessEnv; log: CoreLog }): Promise<number> {
  const sourceKey = options.env.SOURCE_VENDOR_KEY;
  const targetKey = options.env.TARGET_VENDOR_KEY;
  if (!sourceKey || !targetKey) throw new CoreExit(2, "migrate needs SOURCE_VENDOR_KEY and TARGET_VENDOR_KEY in the environment (vendor API keys on each edge)");
  const source = { url: options.from.replace(/\/$/, ""), key: sourceKey };
  const target = { url: options.to.replace(/\/$/, ""), key: targetKey };
  mkdirSync(join(options.archive, "exports"), { recursive: true, mode: 0o700 });
  mkdirSync(join(options.archive, "statements"), { recursive: true, mode: 0o700 });

  // What earlier runs into this archive made on the target (migrate-journal.ts): made once only.
  const journal = new MigrationJournal(options.archive, source.url, target.url);
  try {
    return await migrateAll(source, target, options, journal);
  } finally {
    journal.close();
  }
}

async function migrateAll(source: Edge, target: Edge, options: { archive: string; log: CoreLog }, journal: MigrationJournal): Promise<number> {
  const customers = journal.customers;
  for (const c of await all<{ id: string; name: string; external_id?: string | null }>(source, "/v1/customers")) {
    if (customers.has(c.id)) continue;
    const made = await call<{ id: string }>(target, "POST", "/v1/customers", { name: c.name, ...(c.external_id ? { external_id: c.external_id } : {}) }, `migrate-${c.id}`);
    journal.customer(c.id, made.id);
  }
  const moved: Array<Record<string, unknown>> = [];
  for (const contract of await all<Contract>(source, "/v1/contracts")) {
    const archived = await archiveExport(source, contract.id, join(options.archive, "exports", `${contract.id}.jsonl`));
    const statement = await call<unknown>(source, "GET", `/v1/contracts/${contract.id}/statement`);
    writeFileSync(join(options.archive, "statements", `${contract.id}.json`), JSON.stringify(statement, null, 2) + "\n", { mode: 0o600 });
    let to = journal.contracts.get(contract.id);
    if (to === undefined) {
      to = (await call<{ id: string }>(target, "POST", "/v1/contracts", {
        customer_id: customers.get(contract.customer_id), plan: contract.plan, start: contract.start, timezone: contract.timezone,
        statement_grace_h: contract.statement_grace_h, expected_sync_s: contract.expected_sync_s,
      }, `migrate-${contract.id}`)).id;
      journal.contract(contract.id, to);
    }
    const history = await replayability(source, contract.id, archived.sites);
    const blocked = history.filter((h) => h.hwm > 0 && h.replayable_from > 1);
    let sites: unknown[];
    let grants: unknown[];
    let mode: "replayed" | "fresh_chains";
    if (blocked.length === 0) {
      mode = "replayed";
      const hwm = new Map(history.map((h) => [h.id, h.hwm]));
      sites = await replaySites(source, target, contract.id, to, archived.sites.map((s) => ({ ...s, hwm: hwm.get(s.id)! })), archived.grants, journal);
      grants = archived.grants.map((g) => ({ from: g.id, amount: g.amount }));
    } else {
      mode = "fresh_chains";
      options.log.write({ event: "history_not_replayable", contract: contract.id, sites: blocked.map((b) => ({ id: b.id, replayable_from: b.replayable_from, hwm: b.hwm })),
        message: "records received before the edge kept checkpoints cannot be replayed: remaining units carried over, sites re-enroll with new chains" });
      ({ grants, sites } = await freshStart(source, target, contract.id, to, archived.sites));
    }
    moved.push({ from: contract.id, to, mode, records_archived: archived.records, grants, sites, ...(mode === "fresh_chains" ? { not_replayable: blocked } : {}) });
    options.log.write({ event: "migrated_contract", from: contract.id, to, mode, records_archived: archived.records, grants: grants.length, sites: sites.length });
  }
  // Collector and enrollment tokens are secrets: the file is the operator's alone (0600).
  writeFileSync(join(options.archive, "migration.json"), JSON.stringify({
    format: "tally-migration/v1", from: source.url, to: target.url, migrated_at: new Date().toISOString(),
    customers: Object.fromEntries(customers), contracts: moved,
  }, null, 2) + "\n", { mode: 0o600 });
  return 0;
}

/** History that cannot be replayed: each grant's remaining units carried over, one enrollment token per site. */
async function freshStart(source: Edge, target: Edge, from: string, to: string, sourceSites: ExportPage["collectors"]): Promise<{ grants: unknown[]; sites: unknown[] }> {
  const balance = await call<{ grants?: Grant[] }>(source, "GET", `/v1/contracts/${from}/balance`);
  const grants = [];
  for (const g of balance.grants ?? []) {
    if (Number(g.remaining) <= 0) continue;
    await call(target, "POST", `/v1/contracts/${to}/grants`, {
      amount: g.remaining, priority: g.priority, ...(g.expires_at ? { expires_at: g.expires_at } : {}), idempotency_key: `migrated-${g.id}`,
    });
    grants.push({ from: g.id, amount: g.remaining });
  }
  const sites = [];
  for (const site of sourceSites) {
    const enrollment = await call<{ enrollment_token: string; expires_at: string }>(target, "POST", `/v1/contracts/${to}/enrollments`, {}, `migrate-${site.id}`);
    sites.push({ from: site.id, site: site.site, hwm: site.hwm, enrollment_token: enrollment.enrollment_token, expires_at: enrollment.expires_at });
  }
  return { grants, sites };
}
