// An air-gapped site whose operator stopped carrying receipts keeps every record: `status` says how
// much the log keeps and how much room its disk has left, and warns once what waits for a receipt
// outweighs that room — on a real small disk (tmpfs), well before appends stop at a full disk.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { smallTmpfs, type SmallTmpfs } from "../../support/small-tmpfs.ts";
import { cli, enrolledState } from "./cli-io.ts";

let disk: SmallTmpfs;
let dir: string;
beforeAll(async () => {
  disk = await smallTmpfs("tally-storage-", "4m");
  dir = await mkdtemp(join(tmpdir(), "tally-storage-roomy-"));
});
afterAll(async () => {
  await disk.remove();
  await rm(dir, { recursive: true, force: true });
});

/** Appends `n` usage records (about 330 bytes each in the log) to a new enrolled state. */
async function stateWith(state: string, n: number): Promise<void> {
  await enrolledState(state);
  const site = await openSite(statePaths(state), { clock: () => Date.UTC(2026, 10, 27, 10) });
  for (let i = 0; i < n; i += 500) {
    await site.append(Array.from({ length: Math.min(500, n - i) }, (_, k) => {
      const start = Date.UTC(2026, 10, 27, 8) + (i + k) * 1000;
      return { kind: "usage" as const, data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "u1", host: "ws-01", session: `s-${i + k}`, start, end: start + 1000, count: 1, final: true } };
    }));
  }
  await site.close();
}

describe("status and the log's disk", () => {
  it("warns once the records waiting for receipts outweigh the free space", async (ctx) => {
    if (disk.skipReason) ctx.skip(disk.skipReason);
    const state = join(disk.mountPoint, "state");
    await stateWith(state, 7000);
    const segment = (await stat(join(state, "log", "seg-000000000001.log"))).size;
    const out = await cli(["status", "--state", state, "--json"]);
    const storage = out.json?.storage as { log_bytes: number; free_bytes: number; warning: string | null };
    expect(storage.log_bytes).toBe(segment);
    expect(storage.free_bytes).toBeLessThan(segment);
    expect(storage.warning).toMatch(/7000 of them not receipted.*before the disk fills/);
    expect((await cli(["status", "--state", state])).stdout).toMatch(/^WARNING: the log keeps/m);
  });

  it("says what the log keeps, without a warning, while the disk has room", async () => {
    const state = join(dir, "state");
    await stateWith(state, 100);
    const out = await cli(["status", "--state", state, "--json"]);
    expect(out.json?.storage).toMatchObject({ log_bytes: (await stat(join(state, "log", "seg-000000000001.log"))).size, warning: null });
    expect((await cli(["status", "--state", state])).stdout).toMatch(/^log: 0\.0 MB kept, [\d.]+ MB free on its disk$/m);
  });
});
