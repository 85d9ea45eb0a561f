// `core migrate`'s memory of what it made on the target, in the archive dir (journal.jsonl, 0600:
// it holds collector tokens): one line per customer, contract and site registration, appended and
// fsync'd as each is made. A rerun — after a crash, a cut network, or days later after the sites'
// last sync to the source — reads it back and re-creates nothing, whatever the target's
// Idempotency-Key lifetime (24 h: past that a key is new again, and a rerun that relied on keys
// alone made every customer and contract a second time, then stopped at the sites with
// 409 collector_exists). Site tokens are written before the site's history is replayed: the
// target answers a token only in the response that created the site, so a run that died during a
// long replay would otherwise lose it. Append-only, so its cost is one line per thing made.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CoreExit } from "./exit.ts";

const FORMAT = "tally-migration-journal/v1";

export interface SiteEntry { collector_token: string | null; edge_public_keys: Array<{ key_id: string; public_key: string }> }
type Line =
  | { format: typeof FORMAT; from: string; to: string }
  | { customer: string; to: string }
  | { contract: string; to: string }
  | ({ site: string; contract: string } & SiteEntry);

export class MigrationJournal {
  readonly customers = new Map<string, string>();
  readonly contracts = new Map<string, string>();
  readonly #sites = new Map<string, SiteEntry>();
  readonly #fd: number;

  constructor(archive: string, from: string, to: string) {
    const file = join(archive, "journal.jsonl");
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "") : [];
    // A torn last line (the run died while appending) is dropped: what it named was made, and its
    // Idempotency-Key (within 24 h) or the target's own refusal covers it.
    const parsed: Line[] = [];
    for (const [i, l] of lines.entries()) {
      try {
        parsed.push(JSON.parse(l) as Line);
      } catch (error) {
        if (i < lines.length - 1) throw new CoreExit(1, `${file}: line ${i + 1} is not JSON (${(error as Error).message})`);
      }
    }
    const head = parsed[0];
    if (head && (!("format" in head) || head.format !== FORMAT)) throw new CoreExit(2, `${file} is not a migration journal`);
    if (head && "format" in head && (head.from !== from || head.to !== to)) {
      throw new CoreExit(2, `${archive} belongs to the migration from ${head.from} to ${head.to}: use another --archive for ${from} → ${to}`);
    }
    for (const line of parsed) {
      if ("customer" in line) this.customers.set(line.customer, line.to);
      else if ("contract" in line && !("site" in line)) this.contracts.set(line.contract, line.to);
      else if ("site" in line) this.#sites.set(`${line.contract}/${line.site}`, { collector_token: line.collector_token, edge_public_keys: line.edge_public_keys });
    }
    this.#fd = openSync(file, "a", 0o600);
    // A torn line is ended first, so the next one starts on its own.
    if (lines.length > 0 && parsed.length < lines.length) writeSync(this.#fd, "\n");
    if (!head) this.#append({ format: FORMAT, from, to });
  }

  #append(line: Line): void {
    writeSync(this.#fd, JSON.stringify(line) + "\n");
    fsyncSync(this.#fd);
  }

  customer(from: string, to: string): void {
    this.customers.set(from, to);
    this.#append({ customer: from, to });
  }

  contract(from: string, to: string): void {
    this.contracts.set(from, to);
    this.#append({ contract: from, to });
  }

  /** The site's registration on the target contract `to` (its token only from the answer that made it). */
  site(to: string, collectorId: string, answer?: SiteEntry): SiteEntry | undefined {
    const key = `${to}/${collectorId}`;
    if (answer && (answer.collector_token !== null || !this.#sites.has(key))) {
      this.#sites.set(key, answer);
      this.#append({ site: collectorId, contract: to, ...answer });
    }
    return this.#sites.get(key);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
