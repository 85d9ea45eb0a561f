// `collector move`: an enrolled state dir pointed at the edge that now holds its history — new
// server, contract id, token and edge keys; the same key and log; the old contract-doc replica set
// aside. A token file for another collector, or a daemon holding the log, is refused and
// changes nothing.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { generateKeyPair, keyIdOf } from "../../../shared/protocol/index.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { cli, enrolledState } from "./cli-io.ts";

let dir: string;
let state: string;
const target = generateKeyPair().publicKey;
const entry = { collector_id: "col_cli_test", contract_id: "ctr_moved", collector_token: "tc_moved", edge_public_keys: [{ key_id: keyIdOf(target), public_key: target }] };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-move-"));
  state = join(dir, "state");
  await enrolledState(state, "http://source.test");
  (await SegmentLog.open(join(state, "log"))).log.close();
  writeFileSync(join(state, "contract-doc.bin"), "old edge's doc");
  writeFileSync(join(dir, "site.json"), JSON.stringify(entry));
});
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const read = (file: string) => JSON.parse(readFileSync(join(state, file), "utf8"));

it("points the site at the target: server, contract, token and edge keys; same key; the doc replica set aside; the new edge's key list due", async () => {
  const key = read("key.json");
  writeFileSync(join(state, "edge-keys.json"), JSON.stringify({ keys: [], checked_at: "2026-12-01T00:00:00.000Z" })); // the old edge's list, read lately
  const run = await cli(["move", "--server", "https://target.test/", "--token-file", join(dir, "site.json"), "--state", state, "--json"]);
  expect(run.status, run.stderr).toBe(0);
  expect(run.json).toMatchObject({ ok: true, collector_id: "col_cli_test", from: "http://source.test", server: "https://target.test", contract_id: "ctr_moved" });
  expect(read("identity.json")).toMatchObject({ collector_id: "col_cli_test", server: "https://target.test", contract_id: "ctr_moved", site: "test" });
  expect(read("credentials.json")).toEqual({ collector_token: "tc_moved" });
  expect(read("edge-keys.json").keys).toContainEqual(entry.edge_public_keys[0]);
  expect(read("edge-keys.json")).not.toHaveProperty("checked_at");
  expect(read("key.json")).toEqual(key);
  expect(existsSync(join(state, "contract-doc.bin"))).toBe(false);
  expect(readdirSync(state).filter((f) => f.startsWith("contract-doc.bin.moved-"))).toHaveLength(1);
});

it("refuses another collector's entry, and a log held by a running daemon, changing nothing", async () => {
  const before = ["identity.json", "credentials.json"].map(read);
  writeFileSync(join(dir, "other.json"), JSON.stringify({ ...entry, collector_id: "col_other" }));
  const other = await cli(["move", "--server", "https://target.test", "--token-file", join(dir, "other.json"), "--state", state, "--json"]);
  expect([other.status, other.json?.error]).toEqual([2, "bad_input"]);

  const { log } = await SegmentLog.open(join(state, "log"));
  try {
    const held = await cli(["move", "--server", "https://target.test", "--token-file", join(dir, "site.json"), "--state", state, "--json"]);
    expect(held.status).not.toBe(0);
    expect(String(held.json?.message)).toMatch(/daemon/);
  } finally {
    await log.close();
  }
  expect(["identity.json", "credentials.json"].map(read)).toEqual(before);
  expect(existsSync(join(state, "contract-doc.bin"))).toBe(true);
});
