// The self-hosted core's parts that need no running core: the data-dir lock, the backup's tar
// format, the log's redaction and the secrets check (scripts/core/).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, LockHeldError, procStart, readLock, type LockOwner } from "../../scripts/core/lock.ts";
import { bodyToBuffer, readTar, tarHeader, TarWriter } from "../../scripts/core/tar.ts";
import { loggedPath } from "../../scripts/core/front.ts";
import { secretsFrom } from "../../scripts/core/serve.ts";
import { realNow } from "../support/test-clock.ts";
import { CoreExit } from "../../scripts/core/exit.ts";
import { keyIdOf, publicKeyOf } from "../../shared/protocol/index.ts";

const dir = mkdtempSync(join(tmpdir(), "tally-core-parts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the data dir lock", () => {
  it("is held by one process: a second taker is refused with the holder's pid", () => {
    const path = join(dir, "held.lock");
    const lock = acquireLock(path, "core");
    expect(readLock(path)).toMatchObject({ pid: process.pid, role: "core", proc_start: procStart(process.pid) });
    expect(() => acquireLock(path, "backup")).toThrow(LockHeldError);
    expect(() => acquireLock(path, "backup")).toThrow(`core pid ${process.pid}`);
    lock.release();
    expect(existsSync(path)).toBe(false);
    acquireLock(path, "backup").release();
  });

  it("is taken over when its process is gone, or its pid now belongs to another process, or it is torn", async () => {
    const path = join(dir, "stale.lock");
    const gone = await new Promise<number>((ok) => {
      const child = spawn(process.execPath, ["-e", ""]);
      child.once("exit", () => ok(child.pid!));
    });
    writeFileSync(path, JSON.stringify({ pid: gone, host: (await import("node:os")).hostname(), role: "core", started_at: "earlier" }));
    acquireLock(path, "core").release();

    // Our own pid, but another process start time: the pid was reused.
    writeFileSync(path, JSON.stringify({ pid: process.pid, proc_start: "1", host: (await import("node:os")).hostname(), role: "core", started_at: "earlier" }));
    const taken = acquireLock(path, "core");
    expect(readLock(path)!.started_at).not.toBe("earlier");
    taken.release();

    writeFileSync(path, '{"pid": 4');
    acquireLock(path, "core").release();
  });

  it("updating never writes over a lock that is gone or someone else's, and says it lost it", () => {
    const path = join(dir, "updated.lock");
    const lock = acquireLock(path, "core");
    lock.update({ url: "http://127.0.0.1:1" });
    expect(readLock(path)!.url).toBe("http://127.0.0.1:1");
    const taker = JSON.stringify({ ...readLock(path)!, started_at: "after a takeover" });
    writeFileSync(path, taker);
    expect(() => lock.update({ url: "http://127.0.0.1:2" })).toThrow(`${path} now belongs to core pid ${process.pid} on ${hostname()} (since after a takeover): this process lost the lock`);
    expect(readFileSync(path, "utf8")).toBe(taker);
    unlinkSync(path);
    expect(() => lock.update({ url: "http://127.0.0.1:3" })).toThrow(`${path} was removed while this process held it`);
    expect(existsSync(path)).toBe(false);
    lock.release();
  });

  it("releasing does not remove a lock someone else now holds", () => {
    const path = join(dir, "moved.lock");
    const lock = acquireLock(path, "core");
    writeFileSync(path, JSON.stringify({ ...readLock(path)!, started_at: "another holder" }));
    lock.release();
    expect(readLock(path)!.started_at).toBe("another holder");
  });
});

describe("the data dir lock's heartbeat", () => {
  const elsewhere: LockOwner = { pid: 1, host: `${hostname()}-elsewhere`, role: "core", started_at: "2024-01-01T00:00:00.000Z", heartbeat_ms: 10_000 };
  // Whole seconds: exact in any filesystem's timestamps, so an untouched mtime reads back equal. The
  // machine's clock (realNow): the lock judges a heartbeat's age by it, as a core runs (no test clock).
  const tenMinutesAgo = (): Date => new Date(Math.floor(realNow() / 1000) * 1000 - 600_000);
  const mtime = (path: string): number => statSync(path).mtimeMs;
  /** Until `path`'s mtime has moved past `since` `beats` times (the test's own timeout bounds it). */
  const beaten = async (path: string, beats = 1): Promise<void> => {
    for (let seen = 0; seen < beats; seen++) {
      const since = tenMinutesAgo();
      utimesSync(path, since, since);
      while (mtime(path) === since.getTime()) await new Promise((ok) => setTimeout(ok, 5));
    }
  };

  it("keeps a lock from another host whose heartbeat is recent, and says when it will be stale", () => {
    const path = join(dir, "foreign-fresh.lock");
    writeFileSync(path, JSON.stringify(elsewhere));
    expect(() => acquireLock(path, "core")).toThrow(LockHeldError);
    expect(() => acquireLock(path, "core")).toThrow(/on .*-elsewhere .*its heartbeat is \d+ s old, it is stale once 120 s old, at 20/);
    expect(readLock(path)).toEqual(elsewhere);
  });

  it("takes over a lock from another host whose heartbeat stopped longer ago than the threshold", () => {
    const path = join(dir, "foreign-stale.lock");
    writeFileSync(path, JSON.stringify(elsewhere));
    utimesSync(path, tenMinutesAgo(), tenMinutesAgo());
    const lock = acquireLock(path, "core");
    expect(readLock(path)).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();

    // The threshold is the reader's, but never under five of the holder's beats: a heartbeat one
    // second old is stale at 500 ms only for a holder beating every 50 ms.
    const aSecondAgo = new Date(Math.floor(realNow() / 1000) * 1000 - 1000);
    writeFileSync(path, JSON.stringify(elsewhere));
    utimesSync(path, aSecondAgo, aSecondAgo);
    expect(() => acquireLock(path, "core")).toThrow("stale once 120 s old");
    expect(() => acquireLock(path, "core", {}, { staleAfterMs: 500 })).toThrow("stale once 50 s old");
    writeFileSync(path, JSON.stringify({ ...elsewhere, heartbeat_ms: 50 }));
    utimesSync(path, aSecondAgo, aSecondAgo);
    expect(() => acquireLock(path, "core", {}, { staleAfterMs: 60_000 })).toThrow("stale once 60 s old");
    acquireLock(path, "core", {}, { staleAfterMs: 500 }).release();
  });

  it("keeps a lock from another host written before heartbeats (no heartbeat_ms), however old", () => {
    const path = join(dir, "foreign-legacy.lock");
    const { heartbeat_ms: _, ...legacy } = elsewhere;
    writeFileSync(path, JSON.stringify(legacy));
    utimesSync(path, tenMinutesAgo(), tenMinutesAgo());
    expect(() => acquireLock(path, "core")).toThrow(`without a heartbeat: if no core runs there, delete ${path}`);
  });

  it("refreshes the mtime of a held lock, and records its interval", async () => {
    const path = join(dir, "beating.lock");
    const lock = acquireLock(path, "backup", {}, { heartbeatMs: 20 });
    expect(readLock(path)!.heartbeat_ms).toBe(20);
    await beaten(path, 2);
    expect(readLock(path)).toMatchObject({ pid: process.pid, role: "backup" });
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it("stops with release: a lock file left at the path afterwards is not touched", async () => {
    const path = join(dir, "released.lock");
    const other = join(dir, "still-held.lock");
    const lock = acquireLock(path, "core", {}, { heartbeatMs: 20 });
    const held = acquireLock(other, "core", {}, { heartbeatMs: 20 });
    const owner = readFileSync(path, "utf8");
    lock.release();
    // The very owner it wrote, put back: only a heartbeat still running would touch it.
    writeFileSync(path, owner);
    const old = tenMinutesAgo();
    utimesSync(path, old, old);
    await beaten(other, 3); // a lock held alongside, with the same interval, beat three times meanwhile
    held.release();
    expect(mtime(path)).toBe(old.getTime());
    unlinkSync(path);
  });

  it("never touches, recreates or overwrites a lock that is gone or someone else's, and says it lost it", async () => {
    const path = join(dir, "taken.lock");
    const alongside = acquireLock(join(dir, "alongside.lock"), "core", {}, { heartbeatMs: 20 });
    const failures: Array<[string, boolean]> = [];
    const lock = acquireLock(path, "core", {}, { heartbeatMs: 20, onHeartbeatFailure: (message, lost) => failures.push([message, lost]) });
    const taker = JSON.stringify({ ...elsewhere, started_at: "after a takeover" });
    writeFileSync(path, taker);
    const old = tenMinutesAgo();
    utimesSync(path, old, old);
    await beaten(join(dir, "alongside.lock"), 3);
    expect(failures).toEqual([[`${path} now belongs to core pid 1 on ${hostname()}-elsewhere (since after a takeover): this process lost the lock`, true]]);
    expect(readFileSync(path, "utf8")).toBe(taker);
    expect(mtime(path)).toBe(old.getTime());
    lock.release();
    expect(readFileSync(path, "utf8")).toBe(taker);
    unlinkSync(path);

    failures.length = 0;
    const removed = acquireLock(path, "core", {}, { heartbeatMs: 20, onHeartbeatFailure: (message, lost) => failures.push([message, lost]) });
    unlinkSync(path);
    await beaten(join(dir, "alongside.lock"), 3);
    expect(failures).toEqual([[`${path} was removed while this process held it: the data dir is no longer guarded`, true]]);
    expect(existsSync(path)).toBe(false);
    removed.release();
    alongside.release();
  });
});

describe("the backup's tar", () => {
  it("round-trips files with long names, and GNU tar lists it", async () => {
    const file = join(dir, "round.tar.gz");
    const data = Buffer.alloc(70_000, 3);
    writeFileSync(join(dir, "payload"), data);
    const name = `v3/do/tally-edge-ContractDO/${"a".repeat(64)}.sqlite`;
    const tar = new TarWriter(file);
    await tar.addBuffer("manifest.json", Buffer.from('{"format":"x"}'));
    await tar.addFile(name, join(dir, "payload"), data.length, () => undefined);
    await tar.finish();
    const entries: Array<[string, number]> = [];
    for await (const e of readTar(file)) entries.push([e.name, (await bodyToBuffer(e.body)).length]);
    expect(entries).toEqual([["manifest.json", 14], [name, 70_000]]);
    const listed = await new Promise<string>((ok) => {
      const child = spawn("tar", ["-tzf", file]);
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.once("close", () => ok(out));
    });
    expect(listed.trim().split("\n")).toEqual(["manifest.json", name]);
  });

  it("refuses a damaged header and a truncated archive", async () => {
    const file = join(dir, "plain.tar");
    const tar = new TarWriter(file);
    await tar.addBuffer("manifest.json", Buffer.alloc(600, 1));
    await tar.finish();
    const bytes = readFileSync(file);
    const damaged = Buffer.from(bytes);
    damaged[3] = damaged[3]! ^ 1;
    writeFileSync(join(dir, "damaged.tar"), damaged);
    await expect(async () => { for await (const _ of readTar(join(dir, "damaged.tar"))) { /* read */ } }).rejects.toThrow("checksum");
    writeFileSync(join(dir, "short.tar"), bytes.subarray(0, 700));
    await expect(async () => { for await (const e of readTar(join(dir, "short.tar"))) await bodyToBuffer(e.body); }).rejects.toThrow("truncated");
  });

  it("writes sizes of 8 GiB and more in GNU's base-256 form", () => {
    const header = tarHeader("big.sqlite", 9 * 1024 ** 3, 0);
    expect(header[124]).toBe(0x80);
    expect(header.subarray(131, 136).toString("hex")).toBe("0240000000");
  });
});

describe("the log and the secrets", () => {
  it("logs paths without query strings and without status tokens", () => {
    expect(loggedPath("/status/st_abcdef?x=1")).toBe("/status/…");
    expect(loggedPath("/v1/contracts/ctr_1/usage?from=a&to=b")).toBe("/v1/contracts/ctr_1/usage");
  });

  it("needs both secrets, well formed, and names each problem", () => {
    const refuse = (env: NodeJS.ProcessEnv) => {
      try {
        secretsFrom(env);
      } catch (e) {
        expect(e).toBeInstanceOf(CoreExit);
        expect((e as CoreExit).code).toBe(2);
        return (e as CoreExit).message;
      }
      throw new Error("accepted");
    };
    expect(refuse({})).toMatch(/ADMIN_TOKEN is not set.*EDGE_SIGNING_KEY is not set/);
    expect(refuse({ ADMIN_TOKEN: "short", EDGE_SIGNING_KEY: "ab".repeat(32) })).toContain("shorter than 16");
    expect(refuse({ ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "zz".repeat(32) })).toContain("64 hex digits");
    expect(secretsFrom({ ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "AB".repeat(32) })).toEqual({ ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "ab".repeat(32) });
    // EDGE_SIGNING_KEYS_PREVIOUS, checked as the worker checks it (worker/auth/edge-key.ts).
    const admin = { ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "AB".repeat(32) };
    expect(refuse({ ...admin, EDGE_SIGNING_KEYS_PREVIOUS: "ab".repeat(32) })).toContain("EDGE_SIGNING_KEYS_PREVIOUS item 1 is the current EDGE_SIGNING_KEY");
    expect(refuse({ ...admin, EDGE_SIGNING_KEYS_PREVIOUS: `${"cd".repeat(32)},nope` })).toContain("EDGE_SIGNING_KEYS_PREVIOUS item 2 must be 64 hex digits");
    expect(secretsFrom({ ...admin, EDGE_SIGNING_KEYS_PREVIOUS: "cd".repeat(32) })).toEqual({ ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "ab".repeat(32), EDGE_SIGNING_KEYS_PREVIOUS: "cd".repeat(32) });
    // EDGE_SIGNING_KEYS_REVOKED too: ids of previous keys only, never the current one.
    const previousId = keyIdOf(publicKeyOf("cd".repeat(32)));
    expect(refuse({ ...admin, EDGE_SIGNING_KEYS_PREVIOUS: "cd".repeat(32), EDGE_SIGNING_KEYS_REVOKED: keyIdOf(publicKeyOf("ab".repeat(32))) })).toContain("EDGE_SIGNING_KEYS_REVOKED item 1 is the current EDGE_SIGNING_KEY's id");
    expect(refuse({ ...admin, EDGE_SIGNING_KEYS_REVOKED: previousId })).toContain("EDGE_SIGNING_KEYS_REVOKED item 1");
    expect(secretsFrom({ ...admin, EDGE_SIGNING_KEYS_PREVIOUS: "cd".repeat(32), EDGE_SIGNING_KEYS_REVOKED: previousId })).toMatchObject({ EDGE_SIGNING_KEYS_REVOKED: previousId });
  });
});

/** `node scripts/core.ts …args` with valid secrets: its exit status and stderr. */
function runCoreCli(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", join(import.meta.dirname, "../../scripts/core.ts"), ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ADMIN_TOKEN: "x".repeat(20), EDGE_SIGNING_KEY: "ab".repeat(32) } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr }));
  });
}

describe("the command line", () => {
  it("refuses a backup into a folder that does not exist, exit 2, naming it, before locking the data dir", async () => {
    const data = join(dir, "backup-missing-folder");
    mkdirSync(join(data, "v3"), { recursive: true });
    const folder = join(dir, "not-mounted", "tally");
    const run = await runCoreCli(["backup", "--data", data, "--out", join(folder, "tally.tar.gz")]);
    expect({ code: run.code, first: run.stderr.split("\n")[0] }).toEqual({ code: 2, first: `tally core: --out: the folder ${folder} does not exist (make it first: install -d -m 0700 ${folder})` });
    expect(existsSync(join(data, "core.lock"))).toBe(false);
    expect(existsSync(folder)).toBe(false);
  });

  it("refuses another command's option and an empty value, exit 2, before anything is done", async () => {
    const data = join(dir, "cli-data");
    const out = join(dir, "cli-backup.tar");
    writeFileSync(join(dir, "a-file"), "not a data dir\n");
    const refusals = [
      [["backup", "--data", data, "--out", out, "--port", "9000"], "backup does not take --port"],
      [["restore", "--from", out, "--data", data, "--build", dir], "restore does not take --build"],
      [["build", "--data", data], "build does not take --data"],
      [["--data", data, "--out", out], "serve does not take --out"],
      [["--data", data, "--host="], "--host needs a value"], // "" would listen on every interface
      [["--data", data, "--port="], "--port needs a value"], // Number("") was port 0, a random one
      [["--data", data, "--build="], "--build needs a value"],
      [["--data", data, "--port", " 80"], "--port must be 0…65535"],
      [["--data", data, "--drain-timeout", "1e3"], "--drain-timeout must be seconds ≥ 0"],
      [["--data", join(dir, "a-file")], `--data: ${join(dir, "a-file")} is not a directory`],
      [["restore", "--from", join(dir, "a-file"), "--data", join(dir, "a-file")], `--data: ${join(dir, "a-file")} is not a directory`],
      [["restore", "--from", join(dir, "a-file"), "--data", join(dir, "restored")], `not a Tally core backup: ${join(dir, "a-file")}: truncated tar (no end marker)`],
      [["--data", data, "--build", join(dir, "no-such-build")], `--build: ${join(dir, "no-such-build")} is not a core build (no core-build.json)`],
    ] as const;
    for (const [args, message] of refusals) {
      const run = await runCoreCli(args);
      expect({ args, code: run.code, first: run.stderr.split("\n")[0] }).toEqual({ args, code: 2, first: expect.stringContaining(message) });
    }
    expect(existsSync(data)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });
});
