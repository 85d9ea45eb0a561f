// The lmstat snapshot path as `parse` runs it on a large output: lines read one at a time, holders
// completed once the whole output is read, and the tracker fed snapshot events directly (consecutive
// snapshots: who is gone, who is still held, identical lines). Synthetic outputs, written here.
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../shared/random/mulberry32.ts";
import type { Holder, SourceEvent } from "../../../collector/sources/events.ts";
import { FlexlmLmstatSource } from "../../../collector/sources/flexlm-lmstat.ts";
import { parseUserLine } from "../../../collector/sources/flexlm-lmstat-line.ts";
import { yearlessToUtc } from "../../../collector/sources/snapshot-year.ts";
import { WallClock } from "../../../collector/sources/wall-clock.ts";
import { outputLines } from "../../../collector/sources/snapshot-output.ts";
import type { UsageData } from "../../../collector/sessions/records.ts";
import { SessionTracker } from "../../../collector/sessions/session-tracker.ts";
import { identityLine, repeatedIdentity, snapshotIdentity } from "../../../collector/sessions/snapshot-identity.ts";
import { holdersOf } from "./snapshot-fixtures.ts";

/** FORMATS.md §0 as a regex-built line list: what `outputLines` yields one at a time. */
function linesBySpec(text: string): string[] {
  return text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/).map((line) => line.replace(/\s+$/, ""));
}

describe("outputLines", () => {
  it("yields exactly the lines of the regex spelling: BOM, LF, CRLF, lone CR, trailing blanks of every kind (property)", () => {
    const rand = mulberry32(11);
    const alphabet = ["a", "é", " ", "\t", "\r", "\n", "\r\n", "\u00a0", "\u3000", "\ufeff", "\u2028", "\v"];
    const texts = ["", "\ufeff", "a", "a\n", "\r", "\r\n\r\n", "x \r\n y\t\r z\u00a0", "\ufeff\ufeffa \n"];
    for (let i = 0; i < 5000; i++) {
      let t = rand() < 0.2 ? "\ufeff" : "";
      for (let n = Math.floor(rand() * 12); n > 0; n--) t += alphabet[Math.floor(rand() * alphabet.length)];
      texts.push(t);
    }
    for (const t of texts) expect([...outputLines(t)], JSON.stringify(t)).toEqual(linesBySpec(t));
  });
});

const HEADER = "Flexible License Manager status on Mon 2/10/2025 11:26";
const USERS = [
  "Users of CAD:  (Total of 10 licenses issued;  Total of 3 licenses in use)",
  "",
  "    ann pc-1 pc-1 (v1.0) (lic01/27001 101), start Mon 2/10 9:15",
  "    Ana María pc-2 pc-2:0.0 (v1.0) (lic01/27001 102), start Sun 2/9 23:59:30, 2 licenses",
  "",
];
const VENDOR = ["Vendor daemon status (on lic01):", "", "     cadd: UP v11.19.6", ""];

describe("flexlm-lmstat: what only the whole output decides", () => {
  it("user lines outside a sub-block take the only vendor UP, and starts take the header's year, wherever these come in the output", () => {
    const first = new FlexlmLmstatSource({ name: "l", timezone: "Europe/Madrid" }).parse([HEADER, "", ...VENDOR, "Feature usage info:", "", ...USERS].join("\n"), 0);
    const last = new FlexlmLmstatSource({ name: "l", timezone: "Europe/Madrid" }).parse(["Feature usage info:", "", ...USERS, ...VENDOR, HEADER].join("\n"), 0);
    const expected = [
      { daemon: "cadd", feature: "CAD", user: "ann", host: "pc-1", handle: "lic01/27001 101", count: 1, start: Date.parse("2025-02-10T08:15:00Z") },
      { daemon: "cadd", feature: "CAD", user: "Ana María", host: "pc-2", handle: "lic01/27001 102", count: 2, start: Date.parse("2025-02-09T22:59:30Z") },
    ];
    expect(holdersOf(first)).toEqual(expected);
    expect(holdersOf(last)).toEqual(expected);
    expect(last.stated_at).toBe(Date.parse("2025-02-10T10:26:00Z"));
  });

  it("each start is what the year rule gives for its own stamp (any weekday token, with and without seconds; property)", () => {
    const rand = mulberry32(7);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const seconds = rand() < 0.3 ? `:${String(Math.floor(rand() * 60)).padStart(2, "0")}` : "";
      const stamp = `${pick(["Mon", "tue", "WED", "Thu", "Fri", "Sat", "Sun", "Xyz", "Monday"])} ${1 + Math.floor(rand() * 12)}/${1 + Math.floor(rand() * 31)} ${Math.floor(rand() * 24)}:${String(Math.floor(rand() * 60)).padStart(2, "0")}${seconds}`;
      lines.push(`    u${i % 40} h${i % 7} (v1) (srv/27000 ${i}), start ${stamp}`);
    }
    const zone = "America/New_York";
    const r = new FlexlmLmstatSource({ name: "l", timezone: zone }).parse(["Flexible License Manager status on Sun 3/9/2025 3:30", ...VENDOR, "Users of F:  (Total of 9 licenses issued;  Total of 9 licenses in use)", ...lines].join("\n"), 0);
    const anchor = { year: 2025, month: 3, day: 9, hour: 3, minute: 30, second: 0 };
    const clock = new WallClock(zone);
    const expected = lines.map((l) => parseUserLine(l)).filter((u) => u !== undefined).map((u) => yearlessToUtc(u.start, anchor, clock));
    expect(holdersOf(r).map((h) => h.start)).toEqual(expected);
  });

  it("one parser reading output after output gives each its own holders (names shared between them)", () => {
    const source = new FlexlmLmstatSource({ name: "l", timezone: "UTC" });
    const a = holdersOf(source.parse([HEADER, ...VENDOR, ...USERS].join("\n"), 0));
    const b = holdersOf(source.parse([HEADER, ...VENDOR, ...USERS.slice(0, 3)].join("\n"), 0));
    expect(b).toEqual(a.slice(0, 1));
    expect(b[0]).not.toBe(a[0]);
  });
});

const AT = Date.parse("2025-02-10T11:30:00Z");
const MIN = 60_000;
const holder = (user: string, handle: string, start: number, daemon = "cadd"): Holder & { start: number } =>
  ({ daemon, feature: "CAD", user, host: "pc", handle, count: 1, start });
const snap = (at: number, holders: Array<Holder & { start: number }>, daemon?: string): SourceEvent =>
  ({ type: "snapshot", at, holders, ...(daemon ? { daemon } : {}) });

/** Each session's intervals, joined: [user, start, end, final] relative to AT, in minutes. */
function sessions(records: UsageData[]): Array<[string, number, number, boolean]> {
  const by = new Map<string, UsageData[]>();
  for (const r of records) by.set(r.session, [...(by.get(r.session) ?? []), r]);
  return [...by.values()].map((rs) => [rs[0]!.user, (rs[0]!.start - AT) / MIN, (rs.at(-1)!.end - AT) / MIN, rs.at(-1)!.final]);
}

describe("SessionTracker fed snapshot events", () => {
  it("a holder gone from the next snapshot ends at the last snapshot that listed it; one still listed goes on; a new one starts", () => {
    const t = new SessionTracker({ source: "l", cut_s: 3600 });
    const records: UsageData[] = [];
    const feed = (e: SourceEvent) => { t.feed(e); for (const r of t.take()) if (r.kind === "usage") records.push(r.data); };
    feed(snap(AT, [holder("ann", "1", AT - 30 * MIN), holder("bob", "2", AT - 20 * MIN)]));
    feed(snap(AT + 5 * MIN, [holder("bob", "2", AT - 20 * MIN), holder("cy", "3", AT + 2 * MIN)]));
    t.feedEnd();
    for (const r of t.take()) if (r.kind === "usage") records.push(r.data);
    expect(sessions(records).sort()).toEqual([
      ["ann", -30, 0, true], // gone: ends at the last snapshot that listed it
      ["bob", -20, 5, false], // still held: up to the last snapshot, not final
      ["cy", 2, 5, false],
    ]);
    expect(t.stats()).toMatchObject({ sessions_opened: 3, sessions_closed: 1 });
  });

  it("two identical lines in one snapshot are two checkouts (as the daemon's diff reads them), and stay two in the next", () => {
    // No handle, the same holder and start: two windows of one user, each holding a license (LM-X,
    // lsmon, an lmstat line without a handle). Before, parse and backfill billed them as one.
    const t = new SessionTracker({ source: "l" });
    const ann = holder("ann", "", AT - 10 * MIN);
    t.feed(snap(AT, [ann, ann]));
    t.feed(snap(AT + MIN, [ann, ann]));
    expect(t.openSessions()).toHaveLength(2);
    expect(t.stats()).toMatchObject({ sessions_opened: 2, sessions_closed: 0 });
    t.feed(snap(AT + 2 * MIN, [ann, ann, ann])); // a third: a new checkout, not before the snapshot above
    expect(t.openSessions().map((s) => s.start).sort()).toEqual([AT - 10 * MIN, AT - 10 * MIN, AT + MIN]);
    t.feed(snap(AT + 3 * MIN, [ann])); // two gone: ended where last listed
    expect(t.stats()).toMatchObject({ sessions_opened: 3, sessions_closed: 2 });
    expect(t.openSessions()).toHaveLength(1);
  });

  it("a saved identity tells its line and its number among identical lines, whatever a token pool's product ends in", () => {
    const line = snapshotIdentity({ ...holder("ann", "", AT), product: "P#2" }, AT);
    expect(identityLine(line, "P#2")).toEqual({ line, n: 1 });
    expect(identityLine(repeatedIdentity(line, 3), "P#2")).toEqual({ line, n: 3 });
    const plain = snapshotIdentity(holder("ann", "", AT), AT);
    expect([identityLine(plain, undefined), identityLine(repeatedIdentity(plain, 2), undefined)]).toEqual([{ line: plain, n: 1 }, { line: plain, n: 2 }]);
  });

  it("a snapshot of one daemon ends only that daemon's holders it no longer lists", () => {
    const t = new SessionTracker({ source: "l" });
    t.feed(snap(AT, [holder("ann", "1", AT - MIN, "cadd"), holder("bob", "2", AT - MIN, "other")]));
    t.feed(snap(AT + MIN, [], "cadd"));
    expect(t.openSessions().map((s) => s.user)).toEqual(["bob"]);
    expect(t.stats()).toMatchObject({ sessions_closed: 1 });
  });

  it("a holder new to a snapshot is not held before the previous one, whatever its start field says", () => {
    const t = new SessionTracker({ source: "l" });
    t.feed(snap(AT, [holder("bob", "2", AT - 10 * MIN)]));
    t.feed(snap(AT + MIN, [holder("ann", "1", AT - 10 * MIN)]));
    expect(t.openSessions().map((s) => [s.user, s.start])).toEqual([["ann", AT]]);
  });

  it("a line whose count changed is the same checkout: grown, the old count ends at the snapshot that shows it; shrunk, at its last sighting", () => {
    // Before, the session kept its first count to its end.
    const t = new SessionTracker({ source: "l", cut_s: 60 });
    const ann = holder("ann", "1", AT - 10 * MIN);
    t.feed(snap(AT, [ann]));
    t.feed(snap(AT + 10 * MIN, [{ ...ann, count: 3 }]));
    t.feed(snap(AT + 20 * MIN, [{ ...ann, count: 2 }]));
    t.feed(snap(AT + 30 * MIN, []));
    const spans = t.take().filter((r) => r.kind === "usage").map((r) => r.data as { count: number; start: number; end: number });
    const held = new Map<number, number>();
    for (const d of spans) held.set(d.count, (held.get(d.count) ?? 0) + (d.end - d.start) / MIN);
    // One to AT+10; three from AT+10 to its last sighting, AT+10 (nothing); two from there to AT+20.
    expect(Object.fromEntries(held)).toEqual({ 1: 20, 2: 10 });
    expect(t.stats()).toMatchObject({ sessions_opened: 3, sessions_closed: 3, zero_length_sessions: 1 });
  });

  it("a line one snapshot left out, listed again (its handle and start), goes on from where it was last seen as the same session, as run's diff bills it; saved and restored alike", () => {
    // Before, a new session from the snapshot before the one that listed it again: the time between unbilled.
    for (const restart of [false, true]) {
      let t = new SessionTracker({ source: "l" });
      const ann = holder("ann", "1", AT - 10 * MIN);
      t.feed(snap(AT, [ann]));
      const id = t.openSessions()[0]!.id;
      t.feed(snap(AT + MIN, []));
      if (restart) t = SessionTracker.restore("l", JSON.parse(JSON.stringify(t.save())));
      t.feed(snap(AT + 2 * MIN, [ann]));
      const open = t.openSessions();
      expect(open).toHaveLength(1);
      expect(open[0]!.start).toBe(AT); // its last sighting: what was billed ends there
      expect(open[0]!.id).toBe(id); // the same session goes on (one per-session minimum, one checkout draw)
      expect(t.stats()).toMatchObject({ sessions_opened: 2, sessions_closed: 1 });
    }
  });
});
