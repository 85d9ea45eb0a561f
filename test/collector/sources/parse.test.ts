// `parse` command: records on stdout exactly as backfill would append, summary on stderr, exit codes.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { sharedFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

const maple = join(sharedFixtures, "flexlm/debuglog-joseantoniovilar-maple.log");
const lmstat2018 = join(sharedFixtures, "flexlm/lmstat-synthetic-2018-header.txt"); // header: Mon 9/24/2018 05:52 (Europe/Berlin)

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-parse-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

it("prints the same records as recordsFromFile, identical on a second run", async () => {
  const a = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const b = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const direct = [];
  for await (const r of recordsFromFile("flexlm-debuglog", maple, { timezone: "Europe/Madrid" })) direct.push(r);
  expect(a.code).toBe(0);
  expect(a.lines).toEqual(direct);
  expect(b.lines).toEqual(a.lines);
  const ls = a.lines.filter((r) => r.kind === "usage").reduce((s, r) => s + ((r.data.end - r.data.start) / 1000) * r.data.count, 0);
  expect(a.summary.license_seconds).toBe(ls);
});

it("--sessions totals equal the interval totals", async () => {
  const intervals = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const sessions = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid", "--sessions"]);
  expect(sessions.lines).toHaveLength(intervals.summary.sessions);
  expect(sessions.lines.reduce((s, r) => s + ((r.end - r.start) / 1000) * r.count, 0)).toBe(intervals.summary.license_seconds);
});

it("--encoding reads the file as backfill and run do: a windows-1252 log or a UTF-16 output parses as its UTF-8 copy, on either thread", async () => {
  const text = [" 9:00:00 (lmgrd) TIMESTAMP 5/2/2022", ' 9:10:00 (MLM) OUT: "MATLAB" josé@pc-ñ  ', ' 9:30:00 (MLM) IN: "MATLAB" josé@pc-ñ  ', ""].join("\r\n");
  const utf8 = join(dir, "utf8.log"), latin = join(dir, "cp1252.log");
  await writeFile(utf8, text);
  await writeFile(latin, Buffer.from(text, "latin1"));
  const expected = [];
  for await (const r of recordsFromFile("flexlm-debuglog", utf8, { timezone: "UTC" })) expected.push(r);
  expect(expected.map((r) => r.kind === "usage" && r.data.user)).toEqual(["josé"]);
  const r = await runParse(["--source", "flexlm-debuglog", "--file", latin, "--timezone", "UTC", "--encoding", "windows-1252"]);
  expect([r.code, r.lines]).toEqual([0, expected]);
  const worker = [];
  for await (const b of recordsFromFile("flexlm-debuglog", latin, { timezone: "UTC", encoding: "windows-1252", thread: "always" })) worker.push(b);
  expect(worker).toEqual(expected);

  const utf16 = join(dir, "lmstat-utf16.txt");
  await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(await readFile(lmstat2018, "utf8"), "utf16le")]));
  const original = await runParse(["--source", "flexlm-lmstat", "--file", lmstat2018, "--timezone", "Europe/Berlin"]);
  const wide = await runParse(["--source", "flexlm-lmstat", "--file", utf16, "--timezone", "Europe/Berlin", "--encoding", "utf-16le"]);
  expect(original.lines.length).toBeGreaterThan(0);
  expect([wide.code, wide.lines, wide.summary.time_from]).toEqual([0, original.lines, "header"]);
});

it("without --encoding, a file that is not UTF-8 is refused (a copied Windows log's names would turn into U+FFFD), naming the way out", async () => {
  const text = [" 9:00:00 (lmgrd) TIMESTAMP 5/2/2022", ' 9:10:00 (MLM) OUT: "MATLAB" josé@pc1  ', ' 9:30:00 (MLM) IN: "MATLAB" josé@pc1  ', ""].join("\n");
  const latin = join(dir, "copied-cp1252.log");
  await writeFile(latin, Buffer.from(text, "latin1"));
  const refused = await runParse(["--source", "flexlm-debuglog", "--file", latin, "--timezone", "UTC"]);
  expect([refused.code, refused.lines, JSON.parse(refused.stderr).error]).toEqual([2, [], "bad_encoding"]);
  expect(JSON.parse(refused.stderr).message).toContain("is not UTF-8: give its encoding with --encoding");
  const anyway = await runParse(["--source", "flexlm-debuglog", "--file", latin, "--timezone", "UTC", "--encoding", "utf-8"]);
  expect(anyway.lines.map((r) => r.data.user)).toEqual(["jos\ufffd"]);
  // A snapshot output saved by PowerShell (UTF-16LE with its byte-order mark) is read: the mark decides.
  // Without the mark nothing says what it is: refused like any other output that is not UTF-8.
  const utf16 = Buffer.from(await readFile(lmstat2018, "utf8"), "utf16le");
  const wide = join(dir, "lmstat-powershell.txt");
  await writeFile(wide, Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]));
  const read = await runParse(["--source", "flexlm-lmstat", "--file", wide, "--timezone", "Europe/Berlin"]);
  expect([read.code, read.lines.length > 0]).toEqual([0, true]);
  const bare = join(dir, "lmstat-utf16-no-bom.txt");
  await writeFile(bare, utf16);
  expect(JSON.parse((await runParse(["--source", "flexlm-lmstat", "--file", bare, "--timezone", "Europe/Berlin"])).stderr).error).toBe("bad_encoding");
});

it.each([
  [["--file", maple], "usage"],
  [["--source", "nope", "--file", maple], "unknown_source_kind"],
  [["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Mars/Olympus"], "bad_timezone"],
  [["--source", "flexlm-debuglog", "--file", "/nonexistent/x.log"], "file_not_found"],
  [["--source", "flexlm-debuglog", "--file", maple, "--bogus"], "usage"],
  [["--source", "flexlm-debuglog", "--file", maple, "--package-features="], "usage"],
  [["--source", "flexlm-lmstat", "--file", maple, "--package-features", "SUITE"], "bad_package_features"],
  [["--source", "flexlm-debuglog", "--file", maple, "--encoding", "klingon"], "bad_encoding"],
  [["--source", "flexlm-debuglog", "--file", maple, "--name", "lic server 1"], "usage"],
  [["--source", "flexlm-debuglog", "--file", maple, "--at", "2026-01-01T00:00:00Z"], "usage"],
  [["--source", "flexlm-debuglog", "--file", maple, "--encoding", "utf-16le"], "bad_encoding"],
])("bad arguments %j exit 2 with code %s and print nothing on stdout", async (argv, code) => {
  const r = await runParse(argv as string[]);
  expect(r.code).toBe(2);
  expect(r.lines).toEqual([]);
  expect(JSON.parse(r.stderr).error).toBe(code);
  expect(r.usage).toBe(code !== "file_not_found"); // the usage line after a mistake in the command line only
});

it("refuses a file given as the wrong kind (exit 2, nothing printed but the error, which names its kind), where it printed no record and exit 0", async () => {
  const r = await runParse(["--source", "rlm-reportlog", "--file", maple, "--timezone", "UTC"]);
  expect([r.code, r.lines, r.usage]).toEqual([2, [], false]);
  expect(JSON.parse(r.stderr)).toMatchObject({ error: "wrong_kind", looks_like: "flexlm-debuglog" });
  expect(JSON.parse(r.stderr).message).toMatch(/is a line of rlm-reportlog: they are flexlm-debuglog lines .*give its kind \(--source flexlm-debuglog\)$/);
  const right = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "UTC"]);
  expect([right.code, right.lines.length > 0, right.usage]).toEqual([0, true, false]);
  const other = await runParse(["--source", "flexlm-lmstat", "--file", join(sharedFixtures, "other/olixtool-omnivector.txt")]);
  expect([other.code, other.summary?.error, other.usage]).toEqual([2, "unrecognised_file", false]);
});
