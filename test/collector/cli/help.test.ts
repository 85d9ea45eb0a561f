// Help everywhere (#14.5): `<command> --help` prints that command's usage and what it does on
// stdout, exit 0, touching nothing; a usage mistake names the option and prints the usage, exit 2.
import { describe, expect, it } from "vitest";
import { cli } from "./cli-io.ts";

const COMMANDS = ["init", "run", "backfill", "sync", "parse", "status", "verify", "export", "upload", "import-receipt", "rotate-key", "trust-edge-key", "distrust-edge-key", "reveal"];

describe("help", () => {
  it.each(COMMANDS)("%s --help prints its usage and exits 0", async (command) => {
    const r = await cli([command, "--help", "--state", "/nonexistent/never-created"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: tally-collector ${command.replace("-", "\\-")}( |$)`, "m"));
    expect(r.stdout).toMatch(/exit status: 0 done/);
    expect(r.stderr).toBe("");
    expect((await cli([command, "-h"])).stdout).toBe(r.stdout);
  });

  it("an unknown option names the option and prints the command's usage (exit 2), parse included", async () => {
    const sync = await cli(["sync", "--frobnicate"]);
    expect(sync.status).toBe(2);
    expect(sync.stderr).toMatch(/unknown option --frobnicate; usage: tally-collector sync \[--max-records N\]/);
    const parse = await cli(["parse", "--frobnicate"]);
    expect(parse.status).toBe(2);
    expect(parse.stderr).toMatch(/--frobnicate/);
    expect(parse.stderr).toMatch(/^usage: tally-collector parse --source KIND --file F/m);
    const missing = await cli(["backfill", "--source"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/option --source.*argument missing; usage: tally-collector backfill/);
  });

  it("the overall help lists every command", async () => {
    const r = await cli(["--help"]);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}( |$)`, "m"));
  });
});
