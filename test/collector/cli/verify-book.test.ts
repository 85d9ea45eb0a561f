// `verify` checks every receipt the site ever accepted, and the receipt book gains a line per batch
// receipted for as long as the site runs (a daemon syncing every minute: ~525,000 lines of ~680 B, ~360 MB,
// a year). It is read a chunk at a time — never whole into memory, where a few years of it would
// not even fit a string — and still checked line by line: signatures, heads, the cursor.
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, keyIdOf, signCheckpoint, signReceipt, type Checkpoint, type Receipt } from "../../../shared/protocol/index.ts";
import { openSite } from "../../../collector/site.ts";
import { loadKey } from "../../../collector/state/identity.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { counted } from "../../support/fs-count.ts";
import { cli, enrolledState } from "./cli-io.ts";

const RECORDS = 30;
const LINES = 300; // the reading in chunks across their edges: receipt-book.test.ts

let dir: string;
let line: (head: string) => string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-verify-book-"));
  await enrolledState(dir);
  const paths = statePaths(dir);
  const site = await openSite(paths, { clock: () => Date.UTC(2026, 10, 27, 10) });
  for (let i = 0; i < RECORDS; i++) {
    const start = Date.UTC(2026, 10, 27, 8) + i * 60_000;
    await site.append([{ kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "u1", host: "ws-01", session: `s-${i}`, start, end: start + 60_000, count: 1, final: true } }]);
  }
  const edge = generateKeyPair();
  await writeFile(paths.edgeKeys, JSON.stringify({ keys: [{ key_id: keyIdOf(edge.publicKey), public_key: edge.publicKey }] }));
  const siteKey = await loadKey(paths);
  const head = (await site.hashAt(RECORDS))!;
  line = (named: string) => {
    const checkpoint: Checkpoint = { collector_id: site.identity.collector_id, seq: RECORDS, head: named, ts: Date.UTC(2026, 10, 27, 10) };
    const receipt: Receipt = { collector_id: site.identity.collector_id, acked_seq: RECORDS, head: named, received_at: Date.UTC(2026, 10, 27, 10), key_id: keyIdOf(edge.publicKey) };
    return JSON.stringify({ checkpoint, checkpoint_signature: signCheckpoint(checkpoint, siteKey.secret_key), receipt, signature: signReceipt(receipt, edge.secretKey) }) + "\n";
  };
  await writeFile(paths.receipts, line(head).repeat(LINES));
  const last = JSON.parse(line(head)) as { receipt: Receipt; signature: string };
  await site.log.acknowledge(RECORDS, { receipt: last.receipt, signature: last.signature });
  await site.close();
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("verify and a long receipt book", () => {
  it("checks every line without reading the book whole", async () => {
    const { result, calls } = await counted(() => cli(["verify", "--state", dir, "--json"]));
    expect(result.json).toMatchObject({ ok: true, receipts_checked: LINES, checkpoints_checked: LINES, records_checked: RECORDS });
    const book = statePaths(dir).receipts;
    expect(calls.readFile.filter((p) => p === book)).toEqual([]);
    expect(calls.open.filter((p) => p === book)).toHaveLength(2); // two passes, a chunk at a time
  });

  it("still finds a receipt at the end of the book that names another head for a record the log holds", async () => {
    await appendFile(statePaths(dir).receipts, line("ab".repeat(32)));
    const run = await cli(["verify", "--state", dir, "--json"]);
    expect(run.status).toBe(1);
    expect(run.json).toMatchObject({ ok: false, error: "receipt_head_mismatch", receipts_checked: LINES });
  });
});
