// `export` of a backlog bigger than one bundle (DESIGN.md §4 air-gapped path): every pending record
// in one call, as bundle.json, bundle-2.json … of at most --max-bytes each (here 16 KiB, so a few
// hundred records make several; the default is the edge's 16 MiB), each a valid tally-bundle/v1
// whose batches continue the chain exactly where the bundle before it ends — what the edge's own
// verifier accepts uploaded in order. A later export that needs fewer files removes the numbered
// ones an earlier export left, and `status` names the bundles whose replies are still to come.
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleSchema, initialChainState, verifyBatch, type ChainState } from "../../../shared/protocol/index.ts";
import { appendHourlyUsage } from "../../support/site-usage.ts";
import { cli, enrolledState } from "./cli-io.ts";
import { shellWord } from "../../../collector/commands/export.ts";

const dir = await mkdtemp(join(tmpdir(), "tally-export-bundles-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 10, 1);

describe("export of a backlog bigger than one bundle", () => {
  it("writes every record in one call as bundles of at most --max-bytes, each chaining on the one before", async () => {
    const state = join(dir, "site");
    await enrolledState(state);
    await appendHourlyUsage(state, 300, T0);
    const outDir = join(dir, "usb");
    await mkdir(outDir);
    const out = join(outDir, "bundle.json");

    const run = await cli(["export", "--out", out, "--max-bytes", "16384", "--state", state, "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const files = run.json!.files as string[];
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files).toEqual(files.map((_, i) => join(outDir, i === 0 ? "bundle.json" : `bundle-${i + 1}.json`)));
    expect(run.json).toMatchObject({ ok: true, file: out, records: 300, first_seq: 1, last_seq: 300, pending_after: 0 });
    expect((await readdir(outDir)).sort()).toEqual(files.map((f) => f.slice(outDir.length + 1)).sort());

    const { public_key } = JSON.parse(await readFile(join(state, "key.json"), "utf8"));
    let chain: ChainState = initialChainState("col_cli_test", public_key);
    let batches = 0;
    for (const file of files) {
      expect((await stat(file)).size).toBeLessThanOrEqual(16384);
      const bundle = JSON.parse(await readFile(file, "utf8"));
      expect(bundleSchema.safeParse(bundle).success).toBe(true);
      for (const batch of bundle.batches) {
        const verdict = verifyBatch(chain, batch, () => undefined);
        if (!verdict.ok) throw new Error(`${file}: ${verdict.error.error}: ${verdict.error.message}`);
        expect(verdict.replay).toBe(false);
        chain = verdict.state;
        batches++;
      }
    }
    expect([chain.hwm, batches]).toEqual([300, run.json!.batches]);

    const record = JSON.parse(await readFile(join(state, "export.json"), "utf8"));
    expect(record.bundles.map((b: { file: string }) => b.file)).toEqual(files);
    expect(record.batches).toHaveLength(batches);
    const status = await cli(["status", "--state", state, "--json"]);
    expect(status.json!.last_export).toMatchObject({ bundles: files.length, last_seq: 300, awaiting_replies: files });

    // The same backlog in one default-sized bundle: the numbered files of the first export go.
    const again = await cli(["export", "--out", out, "--state", state, "--json"]);
    expect(again.json).toMatchObject({ ok: true, files: [out], records: 300 });
    expect(await readdir(outDir)).toEqual(["bundle.json"]);
  });

  it("verify --bundle audits a trip's files together in chain order; a missing one between them is a gap naming its seq", async () => {
    const state = join(dir, "audit");
    await enrolledState(state);
    await appendHourlyUsage(state, 200, T0);
    const out = join(dir, "audit", "trip.json");
    const files = (await cli(["export", "--out", out, "--max-bytes", "16384", "--state", state, "--json"])).json!.files as string[];
    expect(files.length).toBeGreaterThanOrEqual(4);
    const shuffled = [files[3]!, files[0]!, ...files.slice(4), files[2]!, files[1]!];

    const all = await cli(["verify", "--bundle", ...shuffled, "--state", state, "--json"]);
    expect(all.status, all.stdout).toBe(0);
    expect(all.json).toMatchObject({ ok: true, collector_id: "col_cli_test", records: 200, first_seq: 1, last_seq: 200 });
    expect((all.json!.files as { file: string }[]).map((f) => f.file)).toEqual(files);
    // The auditor's form, each file after its own --bundle, gives the same.
    const { public_key } = JSON.parse(await readFile(join(state, "key.json"), "utf8"));
    const auditor = await cli(["verify", ...shuffled.flatMap((f) => ["--bundle", f]), "--collector", "col_cli_test", "--public-key", public_key, "--state", join(dir, "nowhere"), "--json"]);
    expect(auditor.json).toMatchObject({ ok: true, records: 200 });

    const second = JSON.parse(await readFile(files[1]!, "utf8")).batches[0].records[0].seq as number;
    const gap = await cli(["verify", "--bundle", ...shuffled.filter((f) => f !== files[1]), "--state", state, "--json"]);
    expect([gap.status, gap.json?.error, gap.json?.file, gap.json?.verified_files]).toEqual([1, "gap", files[2], [files[0]]]);
    expect((gap.json!.problem as { message: string }).message).toContain(`the bundle holding seq ${second} is not among these files`);
    // One file alone reads as before.
    expect((await cli(["verify", "--bundle", files[2]!, "--state", state, "--json"])).json).toMatchObject({ ok: true, first_seq: second + (JSON.parse(await readFile(files[1]!, "utf8")).batches.flatMap((b: { records: unknown[] }) => b.records).length) });
  });

  it("prints the upload command with each path one shell word, quoted when it has spaces", async () => {
    const state = join(dir, "quoted");
    await enrolledState(state);
    await appendHourlyUsage(state, 3, T0);
    const usb = join(dir, "USB DISK");
    await mkdir(usb);
    const run = await cli(["export", "--out", join(usb, "bundle.json"), "--state", state]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(` '${join(usb, "bundle.json")}'\``);
    expect(shellWord("/media/usb/bundle-2.json")).toBe("/media/usb/bundle-2.json");
    expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
  });

  it("refuses a --max-bytes above the edge's limit, writing nothing", async () => {
    const state = join(dir, "limits");
    await enrolledState(state);
    await appendHourlyUsage(state, 3, T0);
    const out = join(dir, "limits-bundle.json");
    const over = await cli(["export", "--out", out, "--max-bytes", String(16 * 1024 * 1024 + 1), "--state", state, "--json"]);
    expect([over.status, over.json?.error]).toEqual([2, "usage"]);
    expect((await readdir(dir)).filter((f) => f.startsWith("limits-bundle"))).toEqual([]);
  });
});
