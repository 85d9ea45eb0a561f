// Site-side enforcement against a real options file and a real shell script standing in for
// lmreread, which records every call to a file (and fails while a marker file exists).
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SiteEnforcer, type EnforceConfig } from "../../../collector/enforce/site-enforcer.ts";
import type { DocBalance } from "../../../shared/contract-doc/index.ts";
import type { RecordBody } from "../../../shared/protocol/index.ts";

const SITE = "# FlexLM options for MLM\r\nGROUP eng ada bob\r\nRESERVE 1 MATLAB USER ada\r\n";
let dir: string;
let config: EnforceConfig;
let records: RecordBody[];

const balance = (status: string, blocked?: string[]): DocBalance => ({
  as_of: "2026-12-01T00:00:00Z", remaining_units: "0", period: null, collectors: {}, status, ...(blocked ? { blocked_features: blocked } : {}),
});
const calls = async () => (await readFile(join(dir, "calls.txt"), "utf8").catch(() => "")).split("\n").filter((l) => l !== "");
const options = () => readFile(join(dir, "MLM.opt"), "latin1");
const open = () => SiteEnforcer.open(config, join(dir, "state"), async (bodies) => { records.push(...bodies); });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-enforce-"));
  await writeFile(join(dir, "MLM.opt"), SITE, { mode: 0o640 });
  await import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "state")));
  const script = join(dir, "lmreread");
  await writeFile(script, `#!/bin/sh\necho "$*" >> "${join(dir, "calls.txt")}"\nif [ -e "${join(dir, "fail")}" ]; then echo "lmreread: Cannot connect to license server system" >&2; exit 7; fi\necho "lmreread successful"\n`);
  await chmod(script, 0o755);
  config = { kind: "flexlm", options_file: join(dir, "MLM.opt"), reread: [script, "-c", "/opt/flexlm/license.dat"], reread_timeout_s: 10 };
  records = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("site-side enforcement", () => {
  it("blocked → block written and reread once; the same status again changes nothing; ok → block removed and reread", async () => {
    const enforcer = await open();
    await enforcer.step(balance("blocked", ["MATLAB", "Simulink"]), 1_000);
    expect(await options()).toBe(`${SITE}# BEGIN tally enforcement\r\nEXCLUDE MATLAB INTERNET *.*.*.*\r\nEXCLUDE Simulink INTERNET *.*.*.*\r\n# END tally enforcement\r\n`);
    expect(await calls()).toEqual(["-c /opt/flexlm/license.dat"]);
    expect(records).toEqual([{ kind: "enforcement", data: { action: "block", features: ["MATLAB", "Simulink"], at: 1_000, result: "applied", manager: "flexlm" } }]);
    expect((await stat(join(dir, "MLM.opt"))).mode & 0o777).toBe(0o640);

    await enforcer.step(balance("blocked", ["Simulink", "MATLAB"]), 2_000);
    expect(await calls()).toHaveLength(1);
    expect(records).toHaveLength(1);

    await enforcer.step(balance("ok"), 3_000);
    expect(await options()).toBe(SITE);
    expect(await calls()).toHaveLength(2);
    expect(records[1]).toEqual({ kind: "enforcement", data: { action: "unblock", features: ["MATLAB", "Simulink"], at: 3_000, result: "applied", manager: "flexlm" } });
    expect(enforcer.view).toMatchObject({ contract_status: "ok", excluded: [], reread_pending: false, last_error: null });
  });

  it("a failing reread is reported and retried with backoff, recorded once as reread_failed, then applied", async () => {
    await writeFile(join(dir, "fail"), "");
    const enforcer = await open();
    await enforcer.step(balance("blocked", ["MATLAB"]), 10_000);
    expect(await options()).toContain("EXCLUDE MATLAB INTERNET");
    expect(enforcer.view).toMatchObject({ reread_pending: true, consecutive_failures: 1, retry_at: 40_000 });
    expect(enforcer.view.last_error!.message).toMatch(/exited with status 7: lmreread: Cannot connect/);
    expect(records.map((r) => (r.data as { result: string }).result)).toEqual(["reread_failed"]);

    expect(enforcer.due(39_999)).toBe(false);
    await enforcer.step(balance("blocked", ["MATLAB"]), 20_000); // a doc sync before the retry time: no reread
    expect(await calls()).toHaveLength(1);
    expect(enforcer.due(40_000)).toBe(true);
    await enforcer.step(balance("blocked", ["MATLAB"]), 40_000);
    expect(enforcer.view).toMatchObject({ consecutive_failures: 2, retry_at: 100_000 });
    expect(records).toHaveLength(1);

    // A restart keeps the pending reread (enforcement.json), though the file is already right.
    await rm(join(dir, "fail"));
    const restarted = await open();
    expect(restarted.due(0)).toBe(true);
    await restarted.step(balance("blocked", ["MATLAB"]), 100_000);
    expect(await calls()).toHaveLength(3);
    expect(records.map((r) => (r.data as { result: string }).result)).toEqual(["reread_failed", "applied"]);
    expect(restarted.view).toMatchObject({ reread_pending: false, last_error: null, excluded: ["MATLAB"] });
  });

  it("a reread that hangs is killed at its timeout; a missing options file is an error, nothing written", async () => {
    const hang = join(dir, "hang");
    await writeFile(hang, "#!/bin/sh\nsleep 30\n");
    await chmod(hang, 0o755);
    config = { ...config, reread: [hang], reread_timeout_s: 1 };
    const enforcer = await open();
    await enforcer.step(balance("blocked", ["MATLAB"]), 0);
    expect(enforcer.view.last_error!.message).toMatch(/timed out after 1 s/);

    config = { ...config, options_file: join(dir, "missing.opt") };
    const other = await SiteEnforcer.open(config, join(dir, "state"), async () => { throw new Error("must not append"); });
    await other.step(balance("ok"), 0);
    expect(other.view.last_error!.message).toMatch(/ENOENT/);
  });

  it("writes RLM's syntax, skips a blocked name that is not an options-file token, and does nothing before a balance exists", async () => {
    config = { ...config, kind: "rlm" };
    const enforcer = await open();
    await enforcer.step(null, 0);
    expect(await calls()).toEqual([]);
    await enforcer.step(balance("blocked", ["solver", "bad name"]), 0);
    expect(await options()).toBe(`${SITE}# BEGIN tally enforcement\r\nEXCLUDE solver internet *.*.*.*\r\n# END tally enforcement\r\n`);
    expect(enforcer.view.skipped).toEqual(["bad name"]);
  });
});
