// A source's saved state goes on only in the zone, encoding and package features it was read with
// (read-settings.ts `settingsChange`): changed in the config while the state exists, the source fails
// (bad_config, settings_changed; shown in status, retried) and appends nothing until they are given
// back — read on in the new zone, the next lines of a debug log looked like a clock set back and an
// open session lost half an hour. A change of cut_s applies.
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageData } from "../../../shared/protocol/index.ts";
import { settingsChange } from "../../../collector/daemon/read-settings.ts";
import { freePort } from "../../support/local-edge.ts";
import { sharedFixtures } from "../sources/fixture-paths.ts";
import { cli, enrolledState, logRecords, runOnce } from "../cli/cli-io.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-settings-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

async function usage(state: string): Promise<string[]> {
  return (await logRecords(state))
    .filter((r) => r.kind === "usage").map((r) => r.data as UsageData)
    .map((d) => `${d.user} ${new Date(d.start).toISOString().slice(11, 16)}–${new Date(d.end).toISOString().slice(11, 16)}${d.final ? " final" : ""}`);
}

describe("a source's settings changed while its state exists", () => {
  it("a debug log read in UTC is not read on in Europe/Madrid: refused (status names the change) until UTC is given back; cut_s changes apply", async () => {
    const state = join(dir, "site");
    await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
    const log = join(dir, "lmgrd.log");
    await writeFile(log, ' 8:00:00 (lmgrd) TIMESTAMP 1/10/2022\n 8:00:01 (MLM) TIMESTAMP 1/10/2022\n 9:00:00 (MLM) OUT: "MATLAB" ann@pc1\n 9:30:00 (MLM) Listener Thread: running\n');
    const config = join(dir, "config.json");
    const withZone = async (timezone: string, top: Record<string, unknown> = {}) => {
      await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file: log, timezone }], ...top }));
      return runOnce(config, state);
    };

    expect((await withZone("UTC")).status).toBe(0);
    await appendFile(log, '10:00:00 (MLM) OUT: "MATLAB" bob@pc2\n11:00:00 (MLM) IN: "MATLAB" ann@pc1\n11:30:00 (MLM) IN: "MATLAB" bob@pc2\n14:00:00 (lmgrd) TIMESTAMP 1/10/2022\n');

    const moved = await withZone("Europe/Madrid");
    expect(moved.status).toBe(0); // the daemon goes on; the source fails
    expect(moved.stderr).toContain("source lmgrd was read with other settings than the config now gives (timezone UTC → Europe/Madrid)");
    expect(await usage(state)).toEqual([]);
    const status = await cli(["status", "--state", state, "--json"]);
    expect((status.json?.sources as Array<{ up: boolean; last_error?: { code?: string; message: string } }>)[0]).toMatchObject({
      up: false, last_error: { code: "bad_config", reason: "settings_changed", message: expect.stringContaining("timezone UTC → Europe/Madrid") },
    });

    // Given back (with another cut_s, which applies): every line read in UTC, as if nothing had changed.
    expect((await withZone("UTC", { cut_s: 1800 })).status).toBe(0);
    expect((await usage(state)).sort()).toEqual([
      "ann 09:00–09:30", "ann 09:30–10:00", "ann 10:00–10:30", "ann 10:30–11:00 final", "bob 10:00–10:30", "bob 10:30–11:00", "bob 11:00–11:30 final",
    ]);
  });

  it("a polled output read in one encoding is not read on in another", async () => {
    const state = join(dir, "snap");
    await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
    const output = join(dir, "lmstat.txt");
    await writeFile(output, await readFile(join(sharedFixtures, "flexlm/lmstat-justbennet-matlab.txt")));
    const config = join(dir, "snap.json");
    const run = async (encoding?: string) => {
      // A year's cut: the output's sessions (started months before the file's mtime) in few records.
      await writeFile(config, JSON.stringify({ sources: [{ name: "lmstat", kind: "flexlm-lmstat", file: output, timezone: "UTC", ...(encoding ? { encoding } : {}) }], cut_s: 365 * 86_400 }));
      return runOnce(config, state);
    };
    expect((await run()).stderr).not.toContain("other settings");
    expect((await run("latin1")).stderr).toContain("(encoding utf-8 → latin1)");
    expect((await run("UTF-8")).stderr).not.toContain("other settings"); // the same encoding, spelt otherwise
  });

  it("a polled output not in UTF-8, its encoding not given, fails the source (bad_encoding) and appends nothing; given, it is read", async () => {
    const state = join(dir, "snap-cp1252");
    await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
    const output = join(dir, "lmstat-cp1252.txt");
    const text = (await readFile(join(sharedFixtures, "flexlm/lmstat-justbennet-matlab.txt"), "utf8")).replaceAll("ana", "Jos\u00e9");
    await writeFile(output, Buffer.from(text, "latin1"));
    const config = join(dir, "snap-cp1252.json");
    const run = async (encoding?: string) => {
      await writeFile(config, JSON.stringify({ sources: [{ name: "lmstat", kind: "flexlm-lmstat", file: output, timezone: "UTC", ...(encoding ? { encoding } : {}) }], cut_s: 365 * 86_400 }));
      return runOnce(config, state);
    };
    const refused = await run();
    expect(refused.stderr).toContain(`${output} is not UTF-8: give the source's encoding in the config`);
    const status = await cli(["status", "--state", state, "--json"]);
    expect((status.json?.sources as Array<{ up: boolean; last_error?: { code?: string } }>)[0]).toMatchObject({ up: false, last_error: { code: "bad_config" } });
    expect(await usage(state)).toEqual([]);
    expect((await run("windows-1252")).stderr).not.toContain("not UTF-8");
    // Read now (its sessions are open: held, not yet reported at a year's cut with the edge away).
    const read = await cli(["status", "--state", state, "--json"]);
    expect((read.json?.sources as Array<{ up: boolean; totals: { lines: number }; licenses_in_use: Record<string, number> }>)[0]).toMatchObject({ up: true, totals: { lines: expect.any(Number) } });
    expect(Object.values((read.json?.sources as Array<{ licenses_in_use: Record<string, number> }>)[0]!.licenses_in_use).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it("which settings count: zone (not for jsonl, whose times carry their offset), encoding and package features, by meaning; never cut_s", () => {
    const was = { timezone: "UTC", encoding: "utf-8", cut_s: 3600 };
    expect(settingsChange("flexlm-debuglog", was, { ...was, cut_s: 300 })).toBeNull();
    expect(settingsChange("flexlm-debuglog", was, { ...was, timezone: "Etc/UTC" })).toBeNull();
    expect(settingsChange("flexlm-debuglog", was, { ...was, timezone: "Asia/Tokyo" })).toBe("timezone UTC → Asia/Tokyo");
    expect(settingsChange("jsonl", was, { ...was, timezone: "Asia/Tokyo" })).toBeNull();
    expect(settingsChange("flexlm-debuglog", { ...was, encoding: "latin1" }, { ...was, encoding: "windows-1252" })).toBeNull();
    expect(settingsChange("flexlm-debuglog", was, { ...was, encoding: "shift_jis" })).toBe("encoding utf-8 → shift_jis");
    expect(settingsChange("flexlm-debuglog", { ...was, package_features: ["A", "B"] }, { ...was, package_features: ["B", "A"] })).toBeNull();
    expect(settingsChange("flexlm-debuglog", was, { ...was, package_features: ["SUITE"] })).toBe("package_features [] → [SUITE]");
    expect(settingsChange("flexlm-debuglog", undefined, was)).toBeNull();
  });
});
