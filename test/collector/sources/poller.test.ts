import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { FlexlmLmstatSource } from "../../../collector/sources/flexlm-lmstat.ts";
import { SnapshotPoller } from "../../../collector/sources/poller.ts";
import { LOCAL_FIXTURES, SHARED_FIXTURES, shared } from "./snapshot-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "tally-poller-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T1 = Date.UTC(2026, 8, 25, 10, 15);
const lmstat = () => new FlexlmLmstatSource({ name: "lmstat", timezone: "Europe/Berlin" });
/** A child process that prints a file, as lmutil would print its status. */
const printer = (file: string) => ({ path: process.execPath, args: ["-e", `process.stdout.write(require("fs").readFileSync(${JSON.stringify(file)}))`] });

function poller(command: { path: string; args: string[] }, clock: () => number, timeout_s = 30) {
  const seen: SourceEvent[][] = [];
  const p = new SnapshotPoller({ source: lmstat(), command, interval_s: 60, timeout_s }, (events) => { seen.push(events); }, clock);
  return { p, seen };
}

describe("snapshot poller", () => {
  it("runs a real command, parses its output and diffs it into checkouts", async () => {
    const { p, seen } = poller(printer(SHARED_FIXTURES + "flexlm/lmstat-mjtrangoni-app7.txt"), () => T1 + 400);
    const out = await p.pollOnce();
    expect(out.map((e) => e.type)).toEqual(["checkout", "checkout", "checkout", "checkout", "checkout", "alive"]);
    expect(out.at(-1)).toEqual({ type: "alive", at: T1 });
    expect(seen).toEqual([out]);
    expect(p.health()).toMatchObject({ up: true, at: T1, last_ok: T1, consecutive_failures: 0 });
  });

  it("a command that fails with no usable output makes an unhealthy source, and ends no session (the next answer decides)", async () => {
    const { p } = poller({ path: process.execPath, args: ["-e", "process.stderr.write('lmgrd is not running\\n'); process.exit(3)"] }, () => T1);
    const reason = `${process.execPath} exited with status 3: lmgrd is not running`;
    expect(await p.pollOnce()).toEqual([]);
    expect(p.health()).toMatchObject({ up: false, reason, consecutive_failures: 1 });
  });

  it("a failing command whose output explains the failure reports the output's reason", async () => {
    const errorFile = SHARED_FIXTURES + "flexlm/lmstat-omnivector-error-getting-status.txt";
    const cmd = { path: process.execPath, args: ["-e", `process.stdout.write(require("fs").readFileSync(${JSON.stringify(errorFile)})); process.exit(1)`] };
    const { p } = poller(cmd, () => T1);
    expect(await p.pollOnce()).toEqual([]);
    expect(p.health()).toMatchObject({ up: false, reason: 'Error getting status: Cannot connect to license server (-15,570:111 "Connection refused")' });
  });

  it("a command that hangs is killed at its timeout and makes an unhealthy source", async () => {
    const { p } = poller({ path: process.execPath, args: ["-e", "setTimeout(() => {}, 600000)"] }, () => T1, 1);
    expect(await p.pollOnce()).toEqual([]);
    expect(p.health()).toMatchObject({ up: false, reason: `${process.execPath} timed out after 1 s` });
  });

  it("a command that cannot start makes an unhealthy source, not a crash", async () => {
    const { p } = poller({ path: join(dir, "no-such-lmutil"), args: [] }, () => T1);
    expect(await p.pollOnce()).toEqual([]);
    expect(p.health()).toMatchObject({ up: false, reason: `${join(dir, "no-such-lmutil")} could not run (ENOENT)` });
  });

  it("up, down, up again: the checkouts that survived the outage go on, the same sessions", async () => {
    const file = join(dir, "status.txt");
    let now = T1;
    const { p } = poller(printer(file), () => now);
    writeFileSync(file, shared("flexlm/lmstat-mjtrangoni-app7.txt"));
    expect((await p.pollOnce()).filter((e) => e.type === "checkout")).toHaveLength(5);
    now = T1 + 60_000;
    writeFileSync(file, shared("flexlm/lmstat-omnivector-error-getting-status.txt"));
    expect(await p.pollOnce()).toEqual([]);
    expect(p.health()).toMatchObject({ up: false });
    now = T1 + 120_000;
    writeFileSync(file, shared("flexlm/lmstat-mjtrangoni-app7.txt"));
    const back = await p.pollOnce();
    expect(back).toEqual([{ type: "alive", at: T1 + 120_000 }]); // nothing ended, nothing begins again
    expect(p.health()).toMatchObject({ up: true, consecutive_failures: 0 });
  });

  it("file mode re-reads only a changed file, taking its mtime as the snapshot time", async () => {
    const file = join(dir, "lmstat.out");
    writeFileSync(file, shared("flexlm/lmstat-mjtrangoni-app7.txt"));
    utimesSync(file, T1 / 1000, T1 / 1000);
    const events: SourceEvent[][] = [];
    const p = new SnapshotPoller({ source: lmstat(), file, interval_s: 60 }, (e) => { events.push(e); });
    expect((await p.pollOnce()).at(-1)).toEqual({ type: "alive", at: T1 });
    expect(await p.pollOnce()).toEqual([]);
    utimesSync(file, T1 / 1000 + 60, T1 / 1000 + 60);
    expect(await p.pollOnce()).toEqual([{ type: "alive", at: T1 + 60_000 }]);
  });

  it("file mode: a file whose mtime is after now (written on a machine whose clock is ahead) is taken at now, not billed into the future", async () => {
    // Before, the snapshot was taken at the mtime: every listed session billed up to 2027 here.
    const file = join(dir, "lmstat-ahead.out");
    writeFileSync(file, shared("flexlm/lmstat-mjtrangoni-app7.txt"));
    utimesSync(file, T1 / 1000 + 400 * 86_400, T1 / 1000 + 400 * 86_400);
    const p = new SnapshotPoller({ source: lmstat(), file, interval_s: 60 }, () => {}, () => T1);
    const out = await p.pollOnce();
    expect(out.at(-1)).toEqual({ type: "alive", at: T1 });
    expect(Math.max(...out.map((e) => e.at))).toBe(T1);
  });

  it("an output of another kind is refused (bad_config, wrong_kind, naming it) until one is of the source's kind", async () => {
    // Before, an rlmstat output polled as lmstat listed no one: the source looked healthy and billed nothing.
    const file = join(dir, "rlmstat-as-lmstat.out");
    writeFileSync(file, shared("rlm/rlmstat-omnivector-csci.txt"));
    const events: SourceEvent[][] = [];
    const p = new SnapshotPoller({ source: lmstat(), file, interval_s: 60, kindChecked: { kind: "flexlm-lmstat", source: "lic" } }, (e) => { events.push(e); }, () => T1 + 120_000);
    const refused = await p.pollOnce().then(() => undefined, (e: unknown) => e);
    expect(refused).toMatchObject({ code: "bad_config", details: { reason: "wrong_kind", source: "lic", looks_like: "rlm-rlmstat" } });
    expect((refused as Error).message).toContain("give its kind (in the config, sources[].kind: rlm-rlmstat)");
    expect(events).toEqual([]);
    writeFileSync(file, shared("flexlm/lmstat-mjtrangoni-app7.txt"));
    utimesSync(file, T1 / 1000, T1 / 1000);
    expect((await p.pollOnce()).at(-1)).toEqual({ type: "alive", at: T1 });
  });

  it("file mode: a UTF-16LE file with a BOM is decoded as UTF-16 whatever the configured encoding", async () => {
    const file = join(dir, "lmstat-utf16.out");
    writeFileSync(file, readFileSync(LOCAL_FIXTURES + "snapshot-lmstat-synthetic-utf16le.txt"));
    const p = new SnapshotPoller({ source: lmstat(), file, interval_s: 60 }, () => {});
    const out = await p.pollOnce();
    expect(out.map((e) => (e.type === "checkout" ? e.user : e.type))).toEqual(["Jürgen Weiß", "j.doe", "alive"]);
    expect(p.health()).toMatchObject({ up: true, stats: { unknown_lines: 0 } });
  });

  it("an output not in UTF-8, its encoding not given, is refused (bad_config, bad_encoding) — from a command or a file; given, it is read", async () => {
    // A Windows lmutil prints its ANSI code page: read as UTF-8, José and Josè would both be Jos\uFFFD.
    const text = shared("flexlm/lmstat-mjtrangoni-app7.txt").replace("user1", "Jos\u00e9").replace("user2", "Jos\u00e8");
    const file = join(dir, "lmstat-cp1252.out");
    writeFileSync(file, Buffer.from(text, "latin1"));
    const refused = { code: "bad_config", details: { reason: "bad_encoding", source: "lmstat" } };
    const fromCommand = new SnapshotPoller({ source: lmstat(), command: printer(file), interval_s: 60, utf8Checked: "lmstat" }, () => {});
    await expect(fromCommand.pollOnce()).rejects.toMatchObject({ ...refused, message: expect.stringContaining("is not UTF-8: give the source's encoding") });
    const fromFile = new SnapshotPoller({ source: lmstat(), file, interval_s: 60, utf8Checked: "lmstat" }, () => {});
    await expect(fromFile.pollOnce()).rejects.toMatchObject(refused);
    const given = new SnapshotPoller({ source: lmstat(), file, interval_s: 60, encoding: "windows-1252" }, () => {});
    const users = (await given.pollOnce()).flatMap((e) => (e.type === "checkout" ? [e.user] : []));
    expect(users).toEqual(expect.arrayContaining(["Jos\u00e9", "Jos\u00e8"]));
    // UTF-8 output, and UTF-16 with its byte-order mark, pass the check.
    writeFileSync(file, text);
    expect((await new SnapshotPoller({ source: lmstat(), file, interval_s: 60, utf8Checked: "lmstat" }, () => {}).pollOnce()).length).toBeGreaterThan(0);
    const utf16 = new SnapshotPoller({ source: lmstat(), file: LOCAL_FIXTURES + "snapshot-lmstat-synthetic-utf16le.txt", interval_s: 60, utf8Checked: "lmstat" }, () => {});
    expect((await utf16.pollOnce()).length).toBeGreaterThan(0);
  });

  it("start/stop runs a first poll at once and stops cleanly", async () => {
    const { p, seen } = poller(printer(SHARED_FIXTURES + "flexlm/lmstat-mjtrangoni-app8.txt"), () => T1);
    p.start();
    await p.stop();
    expect(seen).toHaveLength(1);
  });
});
