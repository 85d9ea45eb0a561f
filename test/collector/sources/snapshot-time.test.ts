// A saved snapshot read years later (synthetic fixtures in test/fixtures): its time is the one the
// output states, `--at` overrides it, the file's mtime is only the last resort, and the summary
// says which; no session ends after that time; a shortened output is visible, not under-billed; a
// long span streams instead of being materialised.
import { copyFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { recordBatchesFromFile } from "../../../collector/sources/parse-file.ts";
import { RlmRlmstatSource } from "../../../collector/sources/rlm-rlmstat.ts";
import { sharedFixtures, syntheticFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";
import { holdersOf, rows } from "./snapshot-fixtures.ts";

const LMSTAT = join(syntheticFixtures, "flexlm", "lmstat-synthetic-2018-header.txt");
const RLMSTAT = join(syntheticFixtures, "rlm", "rlmstat-synthetic-handles.txt");
const HEADER_AT = Date.parse("2018-09-24T03:52:00Z"); // Mon 9/24/2018 05:52 in Europe/Berlin (CEST)
const tmp = mkdtempSync(join(tmpdir(), "tally-snapshot-time-"));

/** The garbage collector, to measure what is held rather than what is not collected yet. */
function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function copyWithMtime(name: string, text: string, mtime: Date): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  utimesSync(file, mtime, mtime);
  return file;
}

describe("snapshot time", () => {
  it("lmstat: the header's time (in the source's zone) is the snapshot's, whatever the file's mtime", async () => {
    const file = join(tmp, "lmstat.txt");
    copyFileSync(LMSTAT, file); // mtime: now
    const r = await runParse(["--source", "flexlm-lmstat", "--file", file, "--timezone", "Europe/Berlin", "--sessions"]);
    expect(r.code).toBe(0);
    expect(r.summary.time_from).toBe("header");
    expect(r.summary.snapshot_at).toBe(new Date(HEADER_AT).toISOString());
    // Every session ends at the snapshot time, not later (durations in seconds)…
    expect(r.lines.sort((a, b) => a.start - b.start).map((s) => [s.user, s.feature, s.product ?? null, (s.end - s.start) / 1000, s.end === HEADER_AT, s.final])).toEqual([
      ["José Juan Galera", "SIMULINK", null, 21 * 86400 - 2 * 3600 - 8 * 60, true, false],
      ["first.last", "MATLAB", null, 2 * 86400 + 12 * 3600 + 7 * 60, true, false],
      ["ana", "MSCONE", "ODYSSEE_CAE", 82 * 60, true, false],
      ["ana", "MSCONE", "ADAMS_View", 81 * 60, true, false],
      ["Marta Rodríguez", "MATLAB", null, 42 * 60, true, false],
    ]);
    // …and the shortened user list (7 in use stated, 2 listed) is reported, not silently under-billed.
    expect(r.summary.in_use_mismatch).toEqual({ MATLAB: { stated: 7, listed: 2 } });
    expect(r.summary.unknown_samples).toEqual(["..."]);
    expect(r.summary.by_product).toEqual({ ODYSSEE_CAE: { sessions: 1, license_seconds: 5 * 82 * 60 }, ADAMS_View: { sessions: 1, license_seconds: 7 * 81 * 60 } });
  });

  it("--at overrides the stated time; an output that states none falls back to the mtime, and says so", async () => {
    const at = await runParse(["--source", "flexlm-lmstat", "--file", LMSTAT, "--timezone", "Europe/Berlin", "--at", "2018-09-24T04:00:00Z"]);
    expect(at.summary.time_from).toBe("at");
    expect(Math.max(...at.lines.map((r) => r.data.end))).toBe(Date.parse("2018-09-24T04:00:00Z"));

    const headerless = readFileSync(LMSTAT, "utf8").replace(/^Flexible License Manager status on .*\n/m, "");
    const mtime = new Date("2018-09-24T04:10:00Z");
    const file = copyWithMtime("headerless.txt", headerless, mtime);
    const r = await runParse(["--source", "flexlm-lmstat", "--file", file, "--timezone", "Europe/Berlin"]);
    expect(r.summary.time_from).toBe("mtime");
    expect(r.summary.snapshot_at).toBe(mtime.toISOString());
    expect(Math.max(...r.lines.map((l) => l.data.end))).toBe(mtime.getTime());
    expect(r.summary.time_warning).toBeUndefined(); // its latest checkout was that morning

    // The same output copied years later (the copy's mtime): still read at the mtime, as specified, but it says so.
    const copied = copyWithMtime("headerless-copied.txt", headerless, new Date("2024-01-10T12:00:00Z"));
    const late = await runParse(["--source", "flexlm-lmstat", "--file", copied, "--timezone", "Europe/Berlin"]);
    expect(late.summary.time_from).toBe("mtime");
    // (lmstat's starts have no year: the mtime's puts them in 2023, so the gap looks shorter than it was.)
    expect(late.summary.time_warning).toBe("the output states no time: it was read as taken at its file's modification time 2024-01-10T12:00:00.000Z, 108 days after its latest checkout (2023-09-24T03:10:00.000Z), and every session listed is billed up to then; a copied file's modification time is the copy's: give the time the output was taken with --at");
    const given = await runParse(["--source", "flexlm-lmstat", "--file", copied, "--timezone", "Europe/Berlin", "--at", "2018-09-24T04:10:00Z"]);
    expect(given.summary.time_warning).toBeUndefined();
  });

  it("an output that states no time and lists no one (a real LM-X output of an idle server) is read at its mtime without a warning", async () => {
    // Before, the warning's latest checkout of none was -Infinity: `parse` failed with an internal error.
    const idle = readFileSync(join(sharedFixtures, "lmx", "lmx-licstat-omnivector-nolicenses.txt"), "utf8");
    const file = copyWithMtime("lmx-idle.txt", idle, new Date("2024-01-10T12:00:00Z"));
    const r = await runParse(["--source", "lmx", "--file", file, "--timezone", "UTC"]);
    expect(r.code).toBe(0);
    expect([r.summary.time_from, r.summary.snapshot_at, r.summary.records, r.summary.unknown_lines]).toEqual(["mtime", "2024-01-10T12:00:00.000Z", 0, 0]);
    expect(r.summary.time_warning).toBeUndefined();
  });

  it("--at past the last time a date can hold (8.64e15 ms) is refused before a byte is read; the last one is taken", async () => {
    // Before, `parse` read the output and then failed on the summary's time: an internal error.
    const idle = join(sharedFixtures, "lmx", "lmx-licstat-omnivector-nolicenses.txt");
    const r = await runParse(["--source", "lmx", "--file", idle, "--timezone", "UTC", "--at", "99999999999999999"]);
    expect([r.code, r.lines, r.summary]).toEqual([2, [], { error: "usage", message: "--at 99999999999999999 is past the last time a date can hold (8640000000000000 ms, year 275760)" }]);
    const last = await runParse(["--source", "lmx", "--file", idle, "--timezone", "UTC", "--at", "8640000000000000"]);
    expect([last.code, last.summary.snapshot_at]).toEqual([0, "+275760-09-13T00:00:00.000Z"]);
  });

  it("a snapshot time over a day after now — --at, the time the output states, or the mtime — is refused (bad_input) before a record is printed", async () => {
    // Before, every listed session was billed up to it: an LM-X output whose mtime was 2100 gave millions of records.
    const future = new Date(Date.now() + 400 * 86_400_000);
    const at = await runParse(["--source", "flexlm-lmstat", "--file", LMSTAT, "--timezone", "Europe/Berlin", "--at", future.toISOString()]);
    expect([at.code, at.lines, at.summary.error]).toEqual([2, [], "bad_input"]);
    expect(at.summary.message).toContain("--at, after now");
    const year = future.getUTCFullYear();
    const header = copyWithMtime("lmstat-ahead.txt", readFileSync(LMSTAT, "utf8").replace("Mon 9/24/2018", `Mon 9/24/${year + 1}`), new Date());
    const stated = await runParse(["--source", "flexlm-lmstat", "--file", header, "--timezone", "Europe/Berlin"]);
    expect([stated.code, stated.lines, stated.summary.error]).toEqual([2, [], "bad_input"]);
    expect(stated.summary.message).toContain("the time the output states, after now");
    const lmx = copyWithMtime("lmx-ahead.txt", readFileSync(join(sharedFixtures, "lmx", "lmx-licstat-omnivector-altair.txt"), "utf8"), future);
    const mtime = await runParse(["--source", "lmx", "--file", lmx, "--timezone", "UTC"]);
    expect([mtime.code, mtime.lines, mtime.summary.error]).toEqual([2, [], "bad_input"]);
    expect(mtime.summary.message).toContain("give the time it was taken with --at");
    // A few hours ahead (a server clock off, a zone mistaken) is read; an output listing no one bills nothing.
    const soon = await runParse(["--source", "flexlm-lmstat", "--file", LMSTAT, "--timezone", "Europe/Berlin", "--at", new Date(Date.now() + 3 * 3_600_000).toISOString()]);
    expect(soon.code).toBe(0);
    const idle = copyWithMtime("lmx-idle-ahead.txt", readFileSync(join(sharedFixtures, "lmx", "lmx-licstat-omnivector-nolicenses.txt"), "utf8"), future);
    expect((await runParse(["--source", "lmx", "--file", idle, "--timezone", "UTC"])).code).toBe(0);
  });

  it("rlmstat: handles as the server writes them (329h, a-17, 10g), every usage line read, its stated clock used", async () => {
    const r = await runParse(["--source", "rlm-rlmstat", "--file", RLMSTAT, "--timezone", "Europe/Berlin", "--sessions"]);
    expect(r.summary.time_from).toBe("header");
    expect(r.summary.snapshot_at).toBe(new Date(HEADER_AT).toISOString());
    expect(r.summary.unknown_lines).toBe(0);
    expect(r.summary.in_use_mismatch).toEqual({});
    const parsed = new RlmRlmstatSource({ name: "r", timezone: "Europe/Berlin" }).parse(readFileSync(RLMSTAT, "utf8"), Date.now());
    expect(rows(holdersOf(parsed)).map((h) => [h.user, h.host, h.handle, h.count])).toEqual([
      ["ann", "pc1", "329h", 1], ["ann", "pc1", "32ah", 1], ["first.last", "ws-12.example.org", "41", 1],
      ["Marta Rodríguez", "DESKTOP-L00QHGH", "1c2", 1], ["José Juan Galera", "Plasmon:5053", "0x7f", 1], ["build", "ci-runner-3", "a-17", 2],
      ["1", "GM-007028", "99", 1], ["o'brien", "ws-3", "9a", 1], ["svc_tecplot", "render01.example.org", "9b", 1],
      ["sam", "host-4", "ffff", 1], ["lee", "host-5", "10g", 1],
    ]);
    expect(r.lines.every((s) => s.end <= HEADER_AT)).toBe(true);
  });

  it("a UTF-16LE output with a BOM (Windows PowerShell 5 `lmutil lmstat -a > out.txt`) is read as the text it is", async () => {
    const file = join(syntheticFixtures, "snapshot-lmstat-synthetic-utf16le.txt");
    const r = await runParse(["--source", "flexlm-lmstat", "--file", file, "--timezone", "Europe/Berlin", "--sessions"]);
    expect(r.code).toBe(0);
    expect([r.summary.time_from, r.summary.snapshot_at, r.summary.unknown_lines, r.summary.in_use_mismatch]).toEqual(["header", "2024-03-12T13:03:00.000Z", 0, {}]);
    expect(r.lines.map((s) => [s.user, s.host, new Date(s.start).toISOString()])).toEqual([
      ["Jürgen Weiß", "WS-0042", "2024-03-12T07:01:00.000Z"],
      ["j.doe", "WS-0043", "2024-03-11T16:30:00.000Z"],
    ]);
  });

  it("a 2018 snapshot taken as of now streams eight years and more of hourly intervals in bounded batches", async () => {
    const at = Math.floor(Date.now() / 1000) * 1000; // a time after now is refused (see above)
    let records = 0, licenseMs = 0, biggest = 0, peak = 0, batches = 0;
    const gc = collector();
    gc();
    const before = process.memoryUsage().heapUsed;
    for await (const batch of recordBatchesFromFile("flexlm-lmstat", LMSTAT, { timezone: "Europe/Berlin", at })) {
      records += batch.length;
      biggest = Math.max(biggest, batch.length);
      for (const r of batch) if (r.kind === "usage") licenseMs += (r.data.end - r.data.start) * r.data.count;
      if (++batches % 10 === 0) { // what is still held while the batches stream, garbage collected
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - before);
      }
    }
    const starts = ["2018-09-03T06:00:00Z", "2018-09-21T15:45:00Z", "2018-09-24T02:30:00Z", "2018-09-24T02:31:00Z", "2018-09-24T03:10:00Z"].map(Date.parse);
    expect(licenseMs).toBe([1, 1, 5, 7, 1].reduce((sum, count, i) => sum + (at - starts[i]!) * count, 0));
    expect(records).toBeGreaterThan(350_000);
    expect(biggest).toBeLessThanOrEqual(10_000);
    console.log(`streamed ${records} records, heap peak +${Math.round(peak / 1048576)} MB`);
    // Materialised, 360,000 records would hold over 100 MB.
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });
});
