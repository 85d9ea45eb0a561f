// `verify` on a site with a long receipt book (a line per batch receipted, two signatures each: the
// edge's receipt and the site's checkpoint): BENCH_RECEIPTS lines (default 2,000; a daemon syncing
// every minute writes ~525,000 a year), with the signatures checked through node:crypto as the
// collector does (collector/chain/node-ed25519.ts), against the same command with the pure-JS
// library in the same run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, enrolledState } from "../../test/collector/cli/cli-io.ts";
import { generateKeyPair, keyIdOf, signCheckpoint, signReceipt, useNativeEd25519, type Checkpoint, type Receipt } from "../../shared/protocol/index.ts";
import { nodeEd25519 } from "../../collector/chain/node-ed25519.ts";
import { openSite } from "../../collector/site.ts";
import { loadKey } from "../../collector/state/identity.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

const LINES = Number(process.env.BENCH_RECEIPTS ?? 2000);

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-verify-"));
  try {
    await enrolledState(dir);
    const paths = statePaths(dir);
    const at = Date.UTC(2026, 10, 27, 10);
    const site = await openSite(paths, { clock: () => at });
    const start = at - 3_600_000;
    await site.append([{ kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "u1", host: "ws-01", session: "s-1", start, end: start + 60_000, count: 1, final: true } }]);
    const edge = generateKeyPair();
    await writeFile(paths.edgeKeys, JSON.stringify({ keys: [{ key_id: keyIdOf(edge.publicKey), public_key: edge.publicKey }] }));
    const siteKey = await loadKey(paths);
    const head = (await site.hashAt(1))!;
    const lines: string[] = [];
    let last: { receipt: Receipt; signature: string } | undefined;
    for (let i = 0; i < LINES; i++) { // every line signed afresh, as a real book's are
      const checkpoint: Checkpoint = { collector_id: site.identity.collector_id, seq: 1, head, ts: at + i };
      const receipt: Receipt = { collector_id: site.identity.collector_id, acked_seq: 1, head, received_at: at + i, key_id: keyIdOf(edge.publicKey) };
      last = { receipt, signature: signReceipt(receipt, edge.secretKey) };
      lines.push(JSON.stringify({ checkpoint, checkpoint_signature: signCheckpoint(checkpoint, siteKey.secret_key), ...last }));
    }
    await writeFile(paths.receipts, lines.join("\n") + "\n");
    await site.log.acknowledge(1, last!);
    await site.close();

    const rate = async () => {
      const t0 = performance.now();
      const out = await cli(["verify", "--state", dir, "--json"]);
      if (out.status !== 0 || (out.json as { receipts_checked?: number }).receipts_checked !== LINES) throw new Error(out.stderr || JSON.stringify(out.json));
      return LINES / ((performance.now() - t0) / 1000);
    };
    useNativeEd25519(undefined);
    const library = await rate();
    useNativeEd25519(nodeEd25519);
    const native = await rate();
    return [throughputFigure(`collector verify, a receipt book of ${LINES.toLocaleString("en-US")} lines`, "lines/s", native, "the same with the pure-JS Ed25519 library", library,
      `two signatures a line; a year of syncing every minute (~525,000 lines) takes ~${Math.round(525_000 / native)} s`)];
  } finally {
    useNativeEd25519(nodeEd25519);
    await rm(dir, { recursive: true, force: true });
  }
}
