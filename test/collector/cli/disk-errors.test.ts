// A full disk under `export`: the bundle cannot be written. The command fails with a stable code
// (`io_error`, its errno and path, exit 1) instead of an internal error's stack, leaves no partial
// bundle filling the disk, records no export, and once there is room the same command writes the
// whole bundle. A disk that fills while a backlog of several bundles is written (a crash in the
// middle of an export, made deterministic) leaves the previous export's bundles and export record
// as they were, and no temp file. A real full disk: the output on a small tmpfs (needs `mount`,
// as root in CI).
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, open, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appendHourlyUsage } from "../../support/site-usage.ts";
import { smallTmpfs } from "../../support/small-tmpfs.ts";
import { cli, enrolledState } from "./cli-io.ts";

const dir = await mkdtemp(join(tmpdir(), "tally-disk-errors-"));
const disk = await smallTmpfs("tally-disk-errors-small-", "1m");
const { mountPoint, skipReason } = disk;
afterAll(async () => {
  await disk.remove();
  await rm(dir, { recursive: true, force: true });
});

describe("a full disk", () => {
  it.skipIf(skipReason !== "")(`export fails with io_error (ENOSPC), leaves no partial bundle, and writes it once there is room${skipReason ? ` (skipped: ${skipReason})` : ""}`, async () => {
    const state = join(dir, "state");
    await enrolledState(state);
    await appendHourlyUsage(state, 600, Date.UTC(2026, 10, 1));
    const ballast = join(mountPoint, "ballast");
    const handle = await open(ballast, "w");
    try {
      const block = Buffer.alloc(16 * 1024, 1);
      for (;;) await handle.write(block); // until the kernel says ENOSPC
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      await handle.close();
    }
    const out = join(mountPoint, "bundle.json");
    const full = await cli(["export", "--out", out, "--state", state, "--json"]);
    expect(full.status, full.stderr).toBe(1);
    expect(full.json).toMatchObject({ ok: false, error: "io_error", errno: "ENOSPC", path: `${out}.tmp` });
    expect(full.stderr).not.toContain("internal error");
    expect(readdirSync(mountPoint)).toEqual(["ballast"]);
    expect(existsSync(join(state, "export.json"))).toBe(false);

    await rm(ballast);
    const written = await cli(["export", "--out", out, "--state", state, "--json"]);
    expect(written.json).toMatchObject({ ok: true, records: 600, first_seq: 1, last_seq: 600 });
  });

  it.skipIf(skipReason !== "")(`a disk that fills during the second bundle: the previous export's bundles and record stand, no temp file stays${skipReason ? ` (skipped: ${skipReason})` : ""}`, async () => {
    const state = join(dir, "state-bundles");
    await enrolledState(state);
    await appendHourlyUsage(state, 400, Date.UTC(2026, 10, 1));
    const out = join(mountPoint, "bundle.json");
    const first = await cli(["export", "--out", out, "--max-bytes", "65536", "--state", state, "--json"]);
    expect(first.status, first.stderr).toBe(0);
    const files = first.json!.files as string[];
    expect(files.length).toBeGreaterThanOrEqual(2);
    const before = await Promise.all([...files, join(state, "export.json")].map((f) => readFile(f)));

    const ballast = join(mountPoint, "ballast");
    const handle = await open(ballast, "w");
    let size = 0;
    try {
      const block = Buffer.alloc(16 * 1024, 1);
      for (;;) size += (await handle.write(block)).bytesWritten;
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      await handle.close();
    }
    await truncate(ballast, size - 80 * 1024); // room for the first 64 KiB bundle, not the second
    const failed = await cli(["export", "--out", out, "--max-bytes", "65536", "--state", state, "--json"]);
    expect(failed.json).toMatchObject({ ok: false, error: "io_error", errno: "ENOSPC", path: `${files[1]}.tmp` });
    expect(readdirSync(mountPoint).sort()).toEqual(["ballast", ...files.map((f) => f.slice(mountPoint.length + 1))].sort());
    expect(await Promise.all([...files, join(state, "export.json")].map((f) => readFile(f)))).toEqual(before);
    await rm(ballast);
  });
});
