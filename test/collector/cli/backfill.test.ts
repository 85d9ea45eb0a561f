// Backfill imports a file once: re-running adds nothing, a file that grew adds only what is new
// (including the rest of sessions still open at the earlier end), the same file under another name
// is recognised by its first bytes, and what backfill appends is exactly what `parse` prints.
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, parseStrictJson, type ChainRecord, type UsageData } from "../../../shared/protocol/index.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { localTimeZone } from "../../../shared/time/zoned.ts";
import { sharedFixtures } from "../sources/fixture-paths.ts";
import { cli, enrolledState } from "./cli-io.ts";

const ANSYS = join(sharedFixtures, "flexlm/debuglog-justbennet-ansys.log");
const LMSTAT_2018 = join(sharedFixtures, "flexlm/lmstat-synthetic-2018-header.txt"); // header: Mon 9/24/2018 05:52 (Europe/Berlin)

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-backfill-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

async function usageInLog(state: string): Promise<{ records: number; licenseSeconds: number; keys: Set<string> }> {
  const { log } = await SegmentLog.open(join(state, "log"));
  const entries = await log.read(1, { maxCount: 100_000, maxBytes: 1 << 30 });
  await log.close();
  let licenseSeconds = 0;
  const keys = new Set<string>();
  for (const e of entries) {
    const r = parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord;
    const d = r.data as UsageData;
    licenseSeconds += ((d.end - d.start) / 1000) * d.count;
    const key = `${d.session}@${d.start}`;
    expect(keys.has(key)).toBe(false); // no interval twice
    keys.add(key);
  }
  return { records: entries.length, licenseSeconds, keys };
}

async function bodiesInLog(state: string): Promise<string[]> {
  const { log } = await SegmentLog.open(join(state, "log"));
  const entries = await log.read(1, { maxCount: 100_000, maxBytes: 1 << 30 });
  await log.close();
  return entries.map((e) => {
    const r = parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord;
    return canonicalJson({ kind: r.kind, data: r.data });
  });
}

/** Every file under `root` with its bytes (base64), by path: a state directory as it is. */
async function treeBytes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out[relative(root, join(e.parentPath, e.name))] = (await readFile(join(e.parentPath, e.name))).toString("base64");
  }
  return out;
}

async function fileTotal(file: string): Promise<number> {
  let total = 0;
  for await (const r of recordsFromFile("flexlm-debuglog", file, { timezone: "UTC" })) {
    if (r.kind === "usage") total += ((r.data.end - r.data.start) / 1000) * r.data.count;
  }
  return total;
}

describe("backfill", () => {
  it("imports a file that grew since the last import: only the new usage, and the total is the whole file's", async () => {
    const state = join(dir, "grown");
    await enrolledState(state);
    const lines = (await readFile(ANSYS, "utf8")).split("\n");
    const grown = join(dir, "ansys.log");
    await writeFile(grown, lines.slice(0, 2000).join("\n") + "\n");
    const first = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(first.status).toBe(0);
    const prefixTotal = await fileTotal(grown);
    expect((await usageInLog(state)).licenseSeconds).toBe(prefixTotal);

    await writeFile(grown, lines.join("\n"));
    const second = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(second.status).toBe(0);
    expect(second.json!.resumed_from_byte as number).toBe(Buffer.byteLength(lines.slice(0, 2000).join("\n") + "\n"));
    const fullTotal = await fileTotal(ANSYS);
    expect(fullTotal).toBe(55_455_026);
    expect((await usageInLog(state)).licenseSeconds).toBe(fullTotal);

    const third = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(third.json).toMatchObject({ appended: 0 });
  });

  it("goes on with a grown file only in the settings its import began with: another zone is refused, naming them, and nothing is appended", async () => {
    const state = join(dir, "grown-zone");
    await enrolledState(state);
    const lines = (await readFile(ANSYS, "utf8")).split("\n");
    const grown = join(dir, "ansys-zone.log");
    await writeFile(grown, lines.slice(0, 2000).join("\n") + "\n");
    const first = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    const appended = first.json!.last_seq;
    await writeFile(grown, lines.join("\n"));
    const other = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "Asia/Tokyo", "--state", state, "--json"]);
    expect([other.status, other.json?.error, other.json?.message]).toEqual([2, "usage", `the import of ${grown} began with --timezone UTC --encoding utf-8; go on with the same settings (given: --timezone Asia/Tokyo --encoding utf-8)`]);
    const same = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(same.json).toMatchObject({ first_seq: (appended as number) + 1 });
    expect((await usageInLog(state)).licenseSeconds).toBe(await fileTotal(ANSYS));
  });

  it("imports a source's later outputs only in the zone and encoding its first was read in: a holder still listed, read in another zone, would be a second session", async () => {
    const state = join(dir, "outputs-zone");
    await enrolledState(state);
    const text = await readFile(LMSTAT_2018, "utf8");
    const [first, later] = [join(dir, "out-1.txt"), join(dir, "out-2.txt")];
    await writeFile(first, text);
    await writeFile(later, text.replace("05:52", "06:52")); // an hour later, the same holders
    const one = await cli(["backfill", "--source", "flexlm-lmstat", "--file", first, "--timezone", "Europe/Berlin", "--state", state, "--json"]);
    expect(one.status).toBe(0);
    const before = await usageInLog(state);
    const other = await cli(["backfill", "--source", "flexlm-lmstat", "--file", later, "--timezone", "America/New_York", "--state", state, "--json"]);
    expect([other.status, other.json?.error, other.json?.message]).toEqual([2, "usage", "the import of source flexlm-lmstat's outputs began with --timezone Europe/Berlin --encoding utf-8; go on with the same settings (given: --timezone America/New_York --encoding utf-8)"]);
    expect((await usageInLog(state)).records).toBe(before.records); // nothing appended
    const same = await cli(["backfill", "--source", "flexlm-lmstat", "--file", later, "--timezone", "Europe/Berlin", "--state", state, "--json"]);
    expect(same.status).toBe(0);
    const after = await usageInLog(state);
    // The same sessions go on: every interval of the later output continues a session of the first.
    const sessions = (keys: Set<string>) => new Set([...keys].map((k) => k.split("@")[0]));
    expect(sessions(after.keys)).toEqual(sessions(before.keys));
  });

  it("appends exactly what parse prints, and a re-run — even of a renamed copy — adds nothing", async () => {
    const state = join(dir, "again");
    await enrolledState(state);
    const first = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state, "--json"]);
    expect(first.json).toMatchObject({ parsed: 4739, appended: 4739, resumed_from_byte: 0, first_seq: 1, last_seq: 4739 });
    const parsed: string[] = [];
    for await (const r of recordsFromFile("flexlm-debuglog", ANSYS, { timezone: "UTC" })) parsed.push(canonicalJson(r));
    expect(await bodiesInLog(state)).toEqual(parsed);
    const again = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state, "--json"]);
    expect(again.json).toMatchObject({ appended: 0, parsed: 0, resumed_from_byte: (await readFile(ANSYS)).length, last_seq: 4739 });
    const copy = join(dir, "lmgrd.log.1");
    await writeFile(copy, await readFile(ANSYS));
    const renamed = await cli(["backfill", "--source", "flexlm-debuglog", "--file", copy, "--timezone", "UTC", "--state", state, "--json"]);
    expect(renamed.json).toMatchObject({ appended: 0, last_seq: 4739 });
  });

  it("takes a saved snapshot at the time the output states, not the file's mtime, and appends what parse prints", async () => {
    const state = join(dir, "snapshot");
    await enrolledState(state);
    const file = join(dir, "lmstat-2018.txt");
    await writeFile(file, await readFile(LMSTAT_2018)); // mtime: now
    const r = await cli(["backfill", "--source", "flexlm-lmstat", "--file", file, "--timezone", "Europe/Berlin", "--cut", "3600", "--state", state, "--json"]);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ time_from: "header" });
    const parsed: string[] = [];
    for await (const b of recordsFromFile("flexlm-lmstat", file, { timezone: "Europe/Berlin", cut_s: 3600 })) parsed.push(canonicalJson(b));
    const appended = await bodiesInLog(state);
    expect(appended).toEqual(parsed);
    expect(r.json).toMatchObject({ appended: parsed.length });
    expect(Math.max(...appended.map((b) => (JSON.parse(b) as { data: { end: number } }).data.end))).toBe(Date.parse("2018-09-24T03:52:00Z"));
  });

  it("an output that states no time, copied since (its mtime the copy's), is taken at the mtime as specified, with a warning to give --at", async () => {
    const state = join(dir, "copied");
    await enrolledState(state);
    const file = join(dir, "lmx-altair.txt");
    await writeFile(file, await readFile(join(sharedFixtures, "lmx/lmx-licstat-omnivector-altair.txt"))); // mtime: now; latest checkout 2022-02-18
    // (30-day records: years of them up to now, few enough to append quickly)
    const r = await cli(["backfill", "--source", "lmx", "--file", file, "--timezone", "UTC", "--cut", "2592000", "--state", state, "--json"]);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ time_from: "mtime" });
    expect(String(r.json!.time_warning)).toMatch(/^the output states no time: .* days after its latest checkout \(2022-02-18T09:29:00\.000Z\), .*give the time the output was taken with --at$/);
    const textState = join(dir, "copied-text");
    await enrolledState(textState);
    const text = await cli(["backfill", "--source", "lmx", "--file", file, "--timezone", "UTC", "--cut", "2592000", "--state", textState]);
    expect(text.stdout).toMatch(/^appended \d+ records \(seq .*\nwarning: the output states no time: /);
    const atState = join(dir, "copied-at");
    await enrolledState(atState);
    const given = await cli(["backfill", "--source", "lmx", "--file", file, "--timezone", "UTC", "--at", "2022-02-18T10:00:00Z", "--state", atState, "--json"]);
    expect(given.json).toMatchObject({ time_from: "at" });
    expect(given.json!.time_warning).toBeUndefined();
  });

  it("an output that states no time and lists no one (an idle server's, real LM-X) is backfilled: nothing appended, no warning", async () => {
    // Before, the time warning failed on it after the import: an internal error, exit 1.
    const state = join(dir, "idle");
    await enrolledState(state);
    const r = await cli(["backfill", "--source", "lmx", "--file", join(sharedFixtures, "lmx/lmx-licstat-omnivector-nolicenses.txt"), "--timezone", "UTC", "--state", state, "--json"]);
    expect(r.stderr).not.toContain("internal error");
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ time_from: "mtime", appended: 0 });
    expect(r.json!.time_warning).toBeUndefined();
  });

  it("an output that lists nothing (real `lmstat -i`, an empty file), backfilled after an earlier output of the source, appends nothing and is not refused as older", async () => {
    // Before, its time (none: -Infinity) was found older than the last output's, and the refusal's
    // message failed on it: an internal error, exit 1.
    const state = join(dir, "lists-nothing");
    await enrolledState(state);
    const first = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--timezone", "UTC", "--state", state, "--json"]);
    expect(first.status).toBe(0);
    const records = (await bodiesInLog(state)).length;
    const empty = join(dir, "lists-nothing-empty.txt");
    await writeFile(empty, "");
    for (const file of [join(sharedFixtures, "flexlm/lmstat-i-mjtrangoni-1.txt"), empty]) {
      const r = await cli(["backfill", "--source", "flexlm-lmstat", "--file", file, "--timezone", "UTC", "--state", state, "--json"]);
      expect(r.stderr).not.toContain("internal error");
      expect([r.status, r.json?.appended]).toEqual([0, 0]);
    }
    expect((await bodiesInLog(state)).length).toBe(records);
  });

  it("refuses an output whose time is over a day after now (its mtime in 2100 here): nothing appended", async () => {
    const state = join(dir, "ahead");
    await enrolledState(state);
    const file = join(dir, "lmx-ahead.txt");
    await writeFile(file, await readFile(join(sharedFixtures, "lmx/lmx-licstat-omnivector-altair.txt")));
    const future = new Date(Date.now() + 400 * 86_400_000);
    await utimes(file, future, future);
    const r = await cli(["backfill", "--source", "lmx", "--file", file, "--timezone", "UTC", "--state", state, "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: "bad_input" });
    expect(await bodiesInLog(state)).toEqual([]);
  });

  it("refuses a file given as the wrong kind before anything is written (bad_input, naming its kind); given as its kind, it is imported whole", async () => {
    // Before: exit 0, "0 records parsed", the log's usage silently left out and its bytes marked read.
    const state = join(dir, "wrong-kind");
    await enrolledState(state);
    const before = await treeBytes(state);
    for (const [kind, file, looksLike] of [["rlm-reportlog", ANSYS, "flexlm-debuglog"], ["flexlm-lmstat", ANSYS, "flexlm-debuglog"], ["flexlm-debuglog", LMSTAT_2018, "flexlm-lmstat"]] as const) {
      const r = await cli(["backfill", "--source", kind, "--file", file, "--timezone", "UTC", "--state", state, "--json"]);
      expect([r.status, r.json?.error, r.json?.source_error, r.json?.looks_like]).toEqual([2, "bad_input", "wrong_kind", looksLike]);
      expect(r.json?.message).toContain(`give its kind (--source ${looksLike})`);
    }
    expect(await treeBytes(state)).toEqual(before); // not a byte of the state changed
    const right = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state, "--json"]);
    expect(right.status).toBe(0);
    expect((await usageInLog(state)).licenseSeconds).toBe(await fileTotal(ANSYS));
  });

  it("honours --at as parse does: a snapshot output taken at that time, over the time it states; refused for a log", async () => {
    const state = join(dir, "at");
    await enrolledState(state);
    const at = "2018-09-24T04:52:00Z"; // an hour after the header's 05:52 Europe/Berlin
    const r = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--timezone", "Europe/Berlin", "--at", at, "--state", state, "--json"]);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ time_from: "at" });
    const parsed: string[] = [];
    for await (const b of recordsFromFile("flexlm-lmstat", LMSTAT_2018, { timezone: "Europe/Berlin", cut_s: 3600, at: Date.parse(at) })) parsed.push(canonicalJson(b));
    const appended = await bodiesInLog(state);
    expect(appended).toEqual(parsed);
    expect(Math.max(...appended.map((b) => (JSON.parse(b) as { data: { end: number } }).data.end))).toBe(Date.parse(at));
    const log = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--at", at, "--state", state, "--json"]);
    expect([log.status, log.json?.error, log.json?.message]).toEqual([2, "usage", "--at: only for a snapshot output (flexlm-debuglog lines carry their own times)"]);
    const local = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--at", "2018-09-24T06:52:00", "--state", state, "--json"]);
    expect([local.status, local.json?.message]).toEqual([2, "--at must be ms since the epoch or RFC 3339 with an offset"]);
  });

  it("honours --package-features as run's package_features does: the package is paired, only its component is appended", async () => {
    const state = join(dir, "packages");
    await enrolledState(state);
    const file = join(dir, "suite.log");
    await writeFile(file, [" 9:00:00 (lmgrd) TIMESTAMP 5/2/2022", ' 9:10:00 (MLM) OUT: "SUITE" ann@pc1  ', ' 9:10:05 (MLM) OUT: "PART" ann@pc1  ',
      ' 9:30:00 (MLM) IN: "SUITE" ann@pc1  ', ' 9:30:00 (MLM) IN: "PART" ann@pc1  ', ""].join("\n"));
    const r = await cli(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--package-features", "SUITE", "--state", state, "--json"]);
    expect(r.status).toBe(0);
    const appended = (await bodiesInLog(state)).map((b) => JSON.parse(b) as { kind: string; data: UsageData });
    expect(appended.map((b) => [b.kind, b.data.feature, b.data.start, b.data.end])).toEqual([["usage", "PART", Date.parse("2022-05-02T09:10:05Z"), Date.parse("2022-05-02T09:30:00Z")]]);
    const parsed: string[] = [];
    for await (const b of recordsFromFile("flexlm-debuglog", file, { timezone: "UTC", package_features: ["SUITE"] })) parsed.push(canonicalJson(b));
    expect(await bodiesInLog(state)).toEqual(parsed);
  });

  it("refuses what would be ignored or misread: an empty --package-features, one for a kind that does not read it, a file not in UTF-8 without --encoding; nothing is appended", async () => {
    const state = join(dir, "packages-refused");
    await enrolledState(state);
    const empty = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--package-features", ",", "--state", state, "--json"]);
    expect([empty.status, empty.json?.error, empty.json?.message]).toEqual([2, "usage", '--package-features must name at least one feature (A,B), got ","']);
    const latin = join(dir, "copied-cp1252.log");
    await writeFile(latin, Buffer.from(' 9:00:00 (lmgrd) TIMESTAMP 5/2/2022\n 9:10:00 (MLM) OUT: "MATLAB" josé@pc1  \n', "latin1"));
    const notUtf8 = await cli(["backfill", "--source", "flexlm-debuglog", "--file", latin, "--timezone", "UTC", "--state", state, "--json"]);
    expect([notUtf8.status, notUtf8.json?.error, notUtf8.json?.source_error]).toEqual([2, "usage", "bad_encoding"]);
    const lmstat = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--package-features", "SUITE", "--state", state, "--json"]);
    expect([lmstat.status, lmstat.json?.error, lmstat.json?.source_error, lmstat.json?.message])
      .toEqual([2, "usage", "bad_package_features", "--package-features: only flexlm-debuglog reads package features (flexlm-lmstat would ignore them)"]);
    expect(await bodiesInLog(state)).toEqual([]);
  });

  it("says which time zone it read the file in, and that this machine's is only a guess for a file copied from elsewhere", async () => {
    await enrolledState(join(dir, "zone-guessed"));
    const machine = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--state", join(dir, "zone-guessed")]);
    expect(machine.status).toBe(0);
    expect(machine.stdout).toContain(`read in this machine's time zone ${localTimeZone()}: a file from a server in another zone needs --timezone\n`);
    await enrolledState(join(dir, "zone-given"));
    const given = await cli(["backfill", "--source", "flexlm-lmstat", "--file", LMSTAT_2018, "--timezone", "Europe/Berlin", "--state", join(dir, "zone-given"), "--json"]);
    expect(given.json).toMatchObject({ timezone: "Europe/Berlin", timezone_from: "option" });
    const parsed = await cli(["parse", "--source", "flexlm-lmstat", "--file", LMSTAT_2018]);
    expect(JSON.parse(parsed.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: localTimeZone(), timezone_from: "machine" });
  });

  it("prints occasional plain progress lines, not a redrawn bar, when stderr is not a TTY", async () => {
    const state = join(dir, "progress");
    await enrolledState(state);
    const r = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state]);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^backfill: 4739 records parsed, 4739 new, \d+\/s, \d+\.\d s$/);
  });
});
