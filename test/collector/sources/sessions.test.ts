// SessionTracker: interval cutting, final flag, provable end at server_down, restart persistence.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import type { RecordBody, UsageData } from "../../../collector/sessions/records.ts";
import { SessionTracker, type TrackerState } from "../../../collector/sessions/session-tracker.ts";
import { readStateFile, writeStateFile } from "../../../collector/sessions/state-file.ts";

const T0 = Date.parse("2026-11-27T09:50:00Z");
const who = { daemon: "MLM", feature: "MATLAB", user: "ann", host: "pc1" };
const out = (at: number, count = 1): SourceEvent => ({ type: "checkout", at, ...who, count });
const inn = (at: number, count = 1): SourceEvent => ({ type: "checkin", at, ...who, count });
const usage = (rs: RecordBody[]) => rs.filter((r): r is { kind: "usage"; data: UsageData } => r.kind === "usage").map((r) => r.data);
const licenseSeconds = (rs: UsageData[]) => rs.reduce((a, r) => a + ((r.end - r.start) / 1000) * r.count, 0);

describe("SessionTracker", () => {
  it("cuts a session at every multiple of cut_s since the epoch and marks only the last interval final", () => {
    const t = new SessionTracker({ source: "s", cut_s: 600 });
    const rs = [out(T0 + 123_000), inn(T0 + 1_900_999)].flatMap((e) => t.apply(e));
    expect(usage(rs).map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([
      [123_000, 600_000, false], [600_000, 1_200_000, false], [1_200_000, 1_800_000, false], [1_800_000, 1_900_000, true],
    ]);
    expect(new Set(usage(rs).map((u) => u.session)).size).toBe(1);
  });

  it("emits an open session's intervals as its daemon is seen alive, a minute and a second short of that, and at flush", () => {
    const t = new SessionTracker({ source: "s", cut_s: 300 });
    const early = [out(T0), { type: "alive", at: T0 + 700_000, daemon: "MLM" } as SourceEvent].flatMap((e) => t.apply(e));
    expect(usage(early).map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([[0, 300_000, false], [300_000, 600_000, false]]);
    const flushed = usage(t.flush(T0 + 10_000_000));
    expect(flushed.map((u) => [u.start - T0, u.end - T0])).toEqual([[600_000, 639_000]]);
    const last = usage(t.apply(inn(T0 + 700_000)));
    expect(last.map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([[639_000, 700_000, true]]);
  });

  it("a check-in that comes up to a minute before the latest event still ends its session there, in a final interval", () => {
    const t = new SessionTracker({ source: "s", cut_s: 300 });
    const rs = [out(T0), { type: "alive", at: T0 + 304_000, daemon: "MLM" } as SourceEvent, inn(T0 + 244_000)].flatMap((e) => t.apply(e));
    expect(usage(rs).map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([[0, 244_000, true]]);
    const flushed = [out(T0 + 400_000), { type: "alive", at: T0 + 500_000, daemon: "MLM" } as SourceEvent].flatMap((e) => t.apply(e));
    expect(usage([...flushed, ...t.flush(T0 + 500_000), ...t.apply(inn(T0 + 440_000))]).map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([[400_000, 439_000, false], [439_000, 440_000, true]]);
  });

  it("server_down ends open sessions at the last time their daemon was known open, never later", () => {
    const t = new SessionTracker({ source: "s" });
    t.apply(out(T0));
    t.apply({ type: "denial", at: T0 + 60_000, daemon: "MLM", feature: "X", user: "bob", host: "pc2", reason: "limit" });
    const rs = t.apply({ type: "server_down", at: T0 + 9_000_000, reason: "restart" });
    expect(usage(rs).map((u) => [u.start - T0, u.end - T0, u.final])).toEqual([[0, 60_000, true]]);
    expect(t.openSessions()).toEqual([]);
  });

  it("pairs a check-in with the earliest open session of the same count (FIFO)", () => {
    const t = new SessionTracker({ source: "s" });
    const rs = [out(T0, 2), out(T0 + 10_000, 1), out(T0 + 20_000, 2), inn(T0 + 30_000, 2)].flatMap((e) => t.apply(e));
    expect(usage(rs).map((u) => [u.start - T0, u.end - T0, u.count])).toEqual([[0, 30_000, 2]]);
  });

  it("a check-in without an open session bills nothing and is counted", () => {
    const t = new SessionTracker({ source: "s" });
    expect(t.apply(inn(T0))).toEqual([]);
    expect(t.stats().orphan_checkins).toBe(1);
  });

  it("session ids are deterministic, and differ for two sessions started in the same second", () => {
    const run = () => { const t = new SessionTracker({ source: "s" }); return usage([out(T0), out(T0), inn(T0 + 5000), inn(T0 + 6000)].flatMap((e) => t.apply(e))).map((u) => u.session); };
    const a = run();
    expect(a).toEqual(run());
    expect(new Set(a).size).toBe(2);
    expect(a[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("a session starting back in a second already used (DST, a clock step) gets the next ordinal, also after a restore", () => {
    // Sessions of one holder at T0, T0+60 s, then the clock goes back and T0 comes again, twice.
    const ids = (restoreAt: number) => {
      let t = new SessionTracker({ source: "s" });
      const got: string[] = [];
      [T0, T0 + 60_000, T0, T0].forEach((at, i) => {
        if (i === restoreAt) t = SessionTracker.restore("s", JSON.parse(JSON.stringify(t.save())) as TrackerState);
        got.push(...usage([out(at), inn(at + 5000)].flatMap((e) => t.apply(e))).map((u) => u.session));
      });
      return got;
    };
    const straight = ids(-1);
    expect(new Set(straight).size).toBe(4); // the second and third visits of T0 are ordinals 1 and 2
    expect(straight[0]).toBe(ids(-1)[0]);
    for (const at of [1, 2, 3]) expect(ids(at)).toEqual(straight);
    // …and they are exactly the ids of the same sessions started in time order (ordinals 0, 1, 2 at T0).
    const t = new SessionTracker({ source: "s" });
    const ordered = usage([out(T0), out(T0), out(T0), inn(T0 + 5000), inn(T0 + 5000), inn(T0 + 5000)].flatMap((e) => t.apply(e))).map((u) => u.session);
    expect(new Set(ordered)).toEqual(new Set([straight[0], straight[2], straight[3]]));
  });

  it("the same-second table kept apart (saveApart): a restore from the state and its log gives the same ids; each save logs only the sessions started since", () => {
    // As above — sessions of one holder at T0, T0+60 s, then back at T0 twice — with a save after
    // each, its table change appended to a log the way the source journal keeps it.
    const ids = (restoreAt: number) => {
      let t = new SessionTracker({ source: "s" });
      let log = "";
      const lines: unknown[] = [];
      const got: string[] = [];
      [T0, T0 + 60_000, T0, T0].forEach((at, i) => {
        if (i === restoreAt) {
          const { state, sameSecond } = t.saveApart();
          log += `${JSON.stringify(sameSecond.added ?? sameSecond.table())}\n`;
          t = SessionTracker.restore("s", JSON.parse(JSON.stringify(state)) as TrackerState, log);
        }
        got.push(...usage([out(at), inn(at + 5000)].flatMap((e) => t.apply(e))).map((u) => u.session));
        const { state, sameSecond } = t.saveApart();
        expect(state.same_second).toBeUndefined();
        lines.push(sameSecond.added);
        log += `${JSON.stringify(sameSecond.added ?? sameSecond.table())}\n`;
      });
      return { got, lines };
    };
    const straight = ids(-1);
    expect(new Set(straight.got).size).toBe(4);
    // Never logged before: start afresh from the whole table; then one session (key, second) per save.
    const key = "MLM|MATLAB|ann|pc1|";
    expect(straight.lines).toEqual([null, [key, T0 / 1000 + 60], [key, T0 / 1000], [key, T0 / 1000]]);
    for (const at of [1, 2, 3]) expect(ids(at).got).toEqual(straight.got);
    // A state kept apart cannot be restored without its log.
    expect(() => SessionTracker.restore("s", new SessionTracker({ source: "s" }).saveApart().state)).toThrow(RangeError);
  });

  it("a state saved apart does not grow with the same-second table: two days of sessions stay in the log", () => {
    const t = new SessionTracker({ source: "s" });
    const sizes: number[] = [];
    for (let day = 0; day < 2; day++) {
      for (let i = 0; i < 5_000; i++) {
        const at = T0 + day * 86_400_000 + i * 10_000;
        t.apply({ type: "checkout", at, daemon: "MLM", feature: "MATLAB", user: `u${i % 500}`, host: "pc", count: 1 });
        t.apply({ type: "checkin", at: at + 5_000, daemon: "MLM", feature: "MATLAB", user: `u${i % 500}`, host: "pc", count: 1 });
      }
      const { state, sameSecond } = t.saveApart();
      if (day > 0) expect(sameSecond.added).toHaveLength(2 * 5_000); // only that day's sessions
      sizes.push(JSON.stringify(state).length);
    }
    expect(sizes[1]).toBeLessThan(2_000);
    expect(sizes[1]).toBeLessThan(sizes[0]! + 100);
    expect(JSON.stringify(t.save()).length).toBeGreaterThan(100_000); // the whole form holds the table
  });

  it("survives a restart through its saved state without emitting any interval twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tally-tracker-"));
    const t1 = new SessionTracker({ source: "s", cut_s: 300 });
    const before = [out(T0), { type: "alive", at: T0 + 1_000_000, daemon: "MLM" } as SourceEvent].flatMap((e) => t1.apply(e));
    before.push(...t1.flush(T0 + 1_000_000));
    await writeStateFile(join(dir, "tracker.json"), t1.save());
    const t2 = SessionTracker.restore("s", (await readStateFile<TrackerState>(join(dir, "tracker.json")))!);
    const after = [inn(T0 + 2_000_000)].flatMap((e) => t2.apply(e));
    const all = usage([...before, ...after]);
    expect(licenseSeconds(all)).toBe(2000);
    for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBe(all[i - 1]!.end);
    expect(all.at(-1)!.final).toBe(true);
  });

  it("keeps what tells same-second sessions apart for two days only: its state does not grow with the log", () => {
    const t = new SessionTracker({ source: "s" });
    for (let i = 0; i < 30 * 2880; i++) { // a session every 30 s for 30 days
      const at = T0 + i * 30_000;
      t.apply({ type: "checkout", at, ...who, user: `u${i % 50}`, count: 1 });
      t.apply({ type: "checkin", at: at + 10_000, ...who, user: `u${i % 50}`, count: 1 });
    }
    const kept = Object.values(t.save().same_second ?? {}).reduce((n, list) => n + list.length / 2, 0);
    expect(kept).toBeGreaterThan(2880); // two days at least
    expect(kept).toBeLessThanOrEqual(2 * 2880 + 10_000);
  });

  it("records hold integers only and omit absent optional fields", () => {
    const t = new SessionTracker({ source: "s" });
    const [r] = usage([out(T0 + 0.7), inn(T0 + 61_500.9)].flatMap((e) => t.apply(e)));
    expect(r).toEqual({ source: "s", daemon: "MLM", feature: "MATLAB", user: "ann", host: "pc1", session: r!.session, start: T0, end: T0 + 61_000, count: 1, final: true });
    expect("version" in r!).toBe(false);
  });

  it("per-interval license time always adds up to the whole session (property)", () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    console.log(`sessions property seed=${seed} (replay with SEED=${seed})`);
    fc.assert(fc.property(
      fc.array(fc.record({ start: fc.integer({ min: 0, max: 50_000 }), len: fc.integer({ min: 1, max: 20_000 }), count: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: 80_000 }), { maxLength: 6 }),
      fc.integer({ min: 1, max: 4000 }),
      (sessions, flushes, cut) => {
        const t = new SessionTracker({ source: "s", cut_s: cut });
        const events: Array<[number, SourceEvent | "flush"]> = [];
        sessions.forEach((s, i) => {
          const w = { daemon: "D", feature: "F", user: `u${i}`, host: "h", count: s.count };
          events.push([s.start * 1000, { type: "checkout", at: T0 + s.start * 1000, ...w }], [(s.start + s.len) * 1000, { type: "checkin", at: T0 + (s.start + s.len) * 1000, ...w }]);
        });
        for (const f of flushes) events.push([f * 1000, "flush"]);
        events.sort((a, b) => a[0] - b[0]);
        const rs: RecordBody[] = [];
        for (const [at, e] of events) rs.push(...(e === "flush" ? t.flush(T0 + at) : t.apply(e)));
        const got = usage(rs);
        expect(licenseSeconds(got)).toBe(sessions.reduce((a, s) => a + s.len * s.count, 0));
        expect(got.filter((u) => u.final)).toHaveLength(sessions.length);
        for (const u of got) expect(u.end).toBeGreaterThan(u.start);
      },
    ), { seed, numRuns: 200 });
  });
});
