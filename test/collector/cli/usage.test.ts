// Exit statuses and one-line reasons (DESIGN.md §9): 2 for usage or config errors, 3 when the
// edge is unreachable; nothing half-written when a command is refused.
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/local-edge.ts";
import { cli, enrolledState } from "./cli-io.ts";

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "tally-cli-")); });
afterEach(() => rm(dir, { recursive: true, force: true }));

const oneLine = (s: string) => s.trim().split("\n").length === 1;

describe("collector CLI usage and config errors", () => {
  it("an unknown command exits 2 with a one-line reason", async () => {
    const r = await cli(["frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('unknown command "frobnicate" (see --help)\n');
  });

  it("--help prints the usage of every command on stdout and exits 0", async () => {
    const r = await cli(["--help"]);
    expect(r.status).toBe(0);
    for (const c of ["init --server URL --enroll TOKEN --site NAME", "run --config FILE", "backfill --source KIND --file F", "sync", "parse --source KIND --file F", "status", "verify"]) {
      expect(r.stdout).toContain(c);
    }
  });

  it("init without --server exits 2 with code usage and writes nothing", async () => {
    const state = join(dir, "s");
    const r = await cli(["init", "--enroll", "t", "--site", "x", "--state", state, "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: "usage" });
    expect(oneLine(r.stderr)).toBe(true);
    await expect(stat(state)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("an unknown option exits 2", async () => {
    const r = await cli(["sync", "--bogus", "--state", dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^sync: usage: .*bogus/);
  });

  it("an option given an empty value exits 2 naming it, instead of meaning the default (this machine's zone, the working directory as state)", async () => {
    const state = join(dir, "s");
    await enrolledState(state);
    const log = join(dir, "a.log");
    await writeFile(log, " 9:00:00 (lmgrd) TIMESTAMP 5/2/2022\n");
    for (const argv of [
      ["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone=", "--state", state, "--json"],
      ["status", "--state", "", "--json"],
      ["sync", "--timeout-ms=", "--state", state, "--json"],
    ]) {
      const r = await cli(argv);
      const name = argv.find((a) => a.endsWith("=")) ?? "--state";
      expect({ argv, status: r.status, error: r.json?.error, message: r.json?.message }).toEqual({ argv, status: 2, error: "usage", message: expect.stringMatching(new RegExp(`^option ${name.replace("=", "")} needs a value`)) });
    }
    const parse = await cli(["parse", "--source", "flexlm-debuglog", "--file", log, "--timezone", ""]);
    expect([parse.status, JSON.parse(parse.stderr.split("\n")[0]!)]).toEqual([2, { error: "usage", message: "option --timezone needs a value" }]);
    await expect(stat(join(state, "log"))).rejects.toMatchObject({ code: "ENOENT" }); // nothing imported
  });

  it("an option that takes one value, given twice, exits 2 naming both values, instead of keeping the last and dropping the other", async () => {
    const state = join(dir, "s");
    await enrolledState(state);
    const log = join(dir, "a.log");
    await writeFile(log, " 9:00:00 (lmgrd) TIMESTAMP 5/2/2022\n");
    for (const [argv, option] of [
      [["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone", "Europe/Madrid", "--timezone=UTC", "--state", state, "--json"], "--timezone"],
      [["sync", "--timeout-ms", "5", "--state", state, "--state", join(dir, "other"), "--json"], "--state"],
      [["export", "--out", join(dir, "b.json"), "--max-bytes", "70000", "--max-bytes", "80000", "--state", state, "--json"], "--max-bytes"],
    ] as const) {
      const r = await cli([...argv]);
      expect({ argv, status: r.status, error: r.json?.error, message: r.json?.message }).toEqual({ argv, status: 2, error: "usage", message: expect.stringMatching(new RegExp(`^option ${option} is given more than once \\(`)) });
    }
    const parse = await cli(["parse", "--source", "flexlm-debuglog", "--file", log, "--cut", "60", "--cut", "7200"]);
    expect([parse.status, JSON.parse(parse.stderr.split("\n")[0]!)]).toEqual([2, { error: "usage", message: 'option --cut is given more than once ("60", "7200"): give it once' }]);
    await expect(stat(join(state, "log"))).rejects.toMatchObject({ code: "ENOENT" }); // nothing imported
    // An option meant to be repeated still is: verify --bundle F --bundle G.
    const verify = await cli(["verify", "--bundle", join(dir, "x.json"), "--bundle", join(dir, "y.json"), "--state", state, "--json"]);
    expect(verify.json?.message ?? "").not.toMatch(/more than once/);
  });

  it("verify refuses --collector or --public-key without a --bundle, or one without the other, instead of checking this site's log or key", async () => {
    const state = join(dir, "s");
    await enrolledState(state);
    for (const [argv, message] of [
      [["--collector", "col_other"], "--collector and --public-key check a --bundle"],
      [["--public-key", "ab".repeat(32)], "--collector and --public-key check a --bundle"],
      [["--bundle", join(dir, "b.json"), "--collector", "col_other"], "--collector and --public-key go together"],
    ] as const) {
      const r = await cli(["verify", ...argv, "--state", state, "--json"]);
      expect({ argv, status: r.status, error: r.json?.error, message: r.json?.message }).toEqual({ argv, status: 2, error: "usage", message: expect.stringContaining(message) });
    }
  });

  it.each(["sync", "status", "verify"])("%s on a state dir that was never initialised exits 2 (not_initialised)", async (command) => {
    const r = await cli([command, "--state", join(dir, "empty"), "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: "not_initialised" });
    expect(oneLine(r.stderr)).toBe(true);
  });

  it("refuses a TALLY_STATE set to nothing (exit 2) instead of taking ./.tally in the working directory; --state still decides over it", async () => {
    const r = await cli(["init", "--server", "http://127.0.0.1:9", "--enroll", "t", "--site", "x", "--json"], { TALLY_STATE: "" });
    expect([r.status, r.json?.error, r.json?.message]).toEqual([2, "usage", "TALLY_STATE is set but empty: give the state dir (TALLY_STATE=DIR or --state DIR), or unset it for ./.tally"]);
    await expect(stat(join(process.cwd(), ".tally"))).rejects.toMatchObject({ code: "ENOENT" });
    const state = join(dir, "s");
    await enrolledState(state);
    expect((await cli(["status", "--state", state, "--json"], { TALLY_STATE: "" })).status).toBe(0);
  });

  it("uses $TALLY_STATE when --state is absent", async () => {
    await enrolledState(join(dir, "from-env"));
    const r = await cli(["status", "--json"], { TALLY_STATE: join(dir, "from-env") });
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ collector_id: "col_cli_test", pending: 0, last_receipt: null, remaining_units: null });
  });

  it("refuses a key file others can read (exit 2, bad_state)", async () => {
    await enrolledState(dir);
    await chmod(join(dir, "key.json"), 0o644);
    const r = await cli(["sync", "--state", dir, "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ error: "bad_state" });
  });

  it("backfill of an unknown source kind or a missing file exits 2 before touching the log", async () => {
    await enrolledState(dir);
    const kind = await cli(["backfill", "--source", "nope", "--file", "/etc/hostname", "--state", dir, "--json"]);
    expect(kind.status).toBe(2);
    expect(kind.json).toMatchObject({ error: "usage", source_error: "unknown_source_kind" });
    const file = await cli(["backfill", "--source", "flexlm-debuglog", "--file", join(dir, "missing.log"), "--state", dir, "--json"]);
    expect(file.status).toBe(2);
    expect(file.json).toMatchObject({ error: "bad_input", source_error: "file_not_found" });
    expect(await readdir(dir)).not.toContain("log");
  });
});

describe("collector CLI with the edge unreachable", () => {
  it("init exits 3 after its attempts, keeps the 0600 key for a retry, and writes no identity", async () => {
    const port = await freePort();
    const state = join(dir, "s");
    const r = await cli(["init", "--server", `http://127.0.0.1:${port}`, "--enroll", "t", "--site", "x", "--attempts", "1", "--state", state, "--json"]);
    expect(r.status).toBe(3);
    expect(r.json).toMatchObject({ ok: false, error: "edge_unreachable" });
    expect((await stat(join(state, "key.json"))).mode & 0o777).toBe(0o600);
    expect(await readdir(state)).not.toContain("identity.json");
  });

  it("sync exits 3 when nothing listens, and status still answers offline", async () => {
    const port = await freePort();
    await enrolledState(dir, `http://127.0.0.1:${port}`);
    // One record pending, so sync has something to send.
    const { openSite } = await import("../../../collector/site.ts");
    const { statePaths } = await import("../../../collector/state/state-dir.ts");
    const site = await openSite(statePaths(dir));
    await site.append([{ kind: "heartbeat", data: { sources: [{ source: "s", up: true, at: 1_764_280_000_000 }] } }]);
    await site.close();

    const r = await cli(["sync", "--attempts", "2", "--backoff-base-ms", "1", "--backoff-max-ms", "5", "--state", dir, "--json"], { TALLY_JITTER_SEED: "7" });
    expect(r.status).toBe(3);
    expect(r.json).toMatchObject({ ok: false, error: "edge_unreachable" });
    expect(r.stderr.split("\n").filter((l) => l.startsWith("edge unreachable"))).toHaveLength(1);
    const s = await cli(["status", "--state", dir, "--json"]);
    expect(s.json).toMatchObject({ last_seq: 1, acked_seq: 0, pending: 1 });
    // A seed that is not a number is refused, not replaced by an unseeded jitter.
    const bad = await cli(["sync", "--attempts", "1", "--state", dir, "--json"], { TALLY_JITTER_SEED: "seven" });
    expect([bad.status, bad.json?.error, bad.json?.message]).toEqual([2, "usage", 'TALLY_JITTER_SEED must be a whole number, got "seven"']);
  });
});
