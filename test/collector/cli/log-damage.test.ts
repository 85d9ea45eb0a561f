// A pending record that rotted on disk after the log was opened — a flipped payload byte in a
// sealed segment, which open does not read (its index is trusted: collector/log/FORMAT.md) — is
// found where sync or export read it. The command then fails with a stable code (`check_failed`,
// `log_code: log_corrupt`, exit 1), sends nothing, and writes no bundle: never an "internal
// error" with a stack trace.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { HEADER_BYTES } from "../../../collector/log/frame.ts";
import { appendHourlyUsage } from "../../support/site-usage.ts";
import { cli, enrolledTmpState } from "./cli-io.ts";

let dir: string;
let state: string;

beforeEach(async () => {
  ({ dir, state } = await enrolledTmpState("log-damage"));
  await appendHourlyUsage(state, 40, Date.UTC(2026, 10, 1)); // 2 KiB segments: several sealed ones, each with its index
  // One payload byte of the first segment's second record: its frame's header stays valid.
  const log = join(state, "log");
  const first = readdirSync(log).filter((n) => n.endsWith(".log")).sort()[0]!;
  expect(existsSync(join(log, first.replace(/\.log$/, ".idx")))).toBe(true);
  const bytes = readFileSync(join(log, first));
  const second = HEADER_BYTES + bytes.readUInt32LE(4);
  bytes.writeUInt8(bytes.readUInt8(second + HEADER_BYTES + 10) ^ 0x01, second + HEADER_BYTES + 10);
  writeFileSync(join(log, first), bytes);
});
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

it.each([
  ["sync", ["sync", "--attempts", "1"]],
  ["export", ["export", "--out", "bundle.json"]],
])("%s fails with check_failed (log_corrupt) on a rotted pending record", async (_name, args) => {
  const run = await cli([...args.map((a) => (a === "bundle.json" ? join(dir, a) : a)), "--state", state, "--json"]);
  expect(run.json, run.stderr).toMatchObject({ ok: false, error: "check_failed", log_code: "log_corrupt" });
  expect(run.status).toBe(1);
  expect(run.stderr).not.toContain("internal error");
  expect(existsSync(join(dir, "bundle.json"))).toBe(false);
});
