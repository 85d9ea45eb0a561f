import { describe, expect, it } from "vitest";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { FlexlmLmstatSource } from "../../../collector/sources/flexlm-lmstat.ts";
import { SnapshotDiff } from "../../../collector/sources/snapshot-diff.ts";
import { local, type Held } from "./snapshot-fixtures.ts";

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 6, 9, 0);
const holder = (handle: string, start: number, user = "ana", count = 1): Held =>
  ({ daemon: "MLM", feature: "MATLAB", version: "52", user, host: "pc1", handle, count, start });
const snap = (at: number, holders: Held[]): SourceEvent => ({ type: "snapshot", at, holders });
const strip = ({ start: _s, ...h }: Held) => h;

describe("snapshot-diff", () => {
  const a = holder("lic/27000 1", T0 - 30 * MIN);
  const b = holder("lic/27000 2", T0 - 5 * MIN, "bo");
  const c = holder("lic/27000 3", T0 + 7 * MIN, "cy", 2);

  it("three polls: new handles check out at their stated start, vanished ones check in at the last poll that showed them", () => {
    const diff = new SnapshotDiff();
    expect(diff.apply([snap(T0, [a, b])])).toEqual([
      { type: "checkout", at: a.start, ...strip(a) },
      { type: "checkout", at: b.start, ...strip(b) },
      { type: "alive", at: T0 },
    ]);
    expect(diff.apply([snap(T0 + 10 * MIN, [a, c])])).toEqual([
      { type: "checkin", at: T0, reason: "normal", ...strip(b), opened: b.start }, // the session its checkout opened
      { type: "checkout", at: c.start, ...strip(c) },
      { type: "alive", at: T0 + 10 * MIN },
    ]);
    expect(diff.apply([snap(T0 + 20 * MIN, [c])])).toEqual([
      { type: "checkin", at: T0 + 10 * MIN, reason: "normal", ...strip(a), opened: a.start },
      { type: "alive", at: T0 + 20 * MIN },
    ]);
    expect(diff.held()).toEqual([c]);
  });

  it("a new holder is never checked out before the previous poll, which did not list it: one whose sighting was forgotten is not billed twice", () => {
    const polled = new SnapshotDiff(1); // remembers one closed holder
    polled.apply([snap(T0, [a, b])]);
    polled.apply([snap(T0 + 10 * MIN, [])]); // both vanish; b's last sighting is remembered, a's forgotten
    const diff = new SnapshotDiff(1);
    diff.restore(polled.save()); // as after a restart
    expect(diff.apply([snap(T0 + 20 * MIN, [a, b])])).toEqual([
      { type: "checkout", at: T0 + 10 * MIN, ...strip(a) }, // before: at its stated start, T0 - 30 min, billed up to T0 already
      { type: "checkout", at: T0, ...strip(b), resumes: b.start }, // where it was last seen: held throughout, the session from b.start
      { type: "alive", at: T0 + 20 * MIN },
    ]);
  });

  it("a line whose count changed is the same checkout: grown, the old count ends at this poll; shrunk, at its last sighting", () => {
    const diff = new SnapshotDiff();
    diff.apply([snap(T0, [a])]);
    const two = { ...a, count: 2 };
    expect(diff.apply([snap(T0 + 10 * MIN, [two])])).toEqual([
      { type: "checkin", at: T0 + 10 * MIN, reason: "normal", ...strip(a), opened: a.start }, // one license provably held to here
      { type: "checkout", at: T0 + 10 * MIN, ...strip(two) }, // the second only from here
      { type: "alive", at: T0 + 10 * MIN },
    ]);
    expect(diff.apply([snap(T0 + 20 * MIN, [a])])).toEqual([
      { type: "checkin", at: T0 + 10 * MIN, reason: "normal", ...strip(two), opened: T0 + 10 * MIN }, // two provably held to its last sighting
      { type: "checkout", at: T0 + 10 * MIN, ...strip(a) },
      { type: "alive", at: T0 + 20 * MIN },
    ]);
  });

  it("a state that kept a handle's second line as a checkout of its own (before session 20) drops it on restore: no check-in ends the handle's session", () => {
    const key = JSON.stringify(["mlm", a.feature, a.version, a.handle, a.user, a.host, a.count, a.start]);
    const diff = new SnapshotDiff();
    diff.restore({ open: [[key, a, T0], [`${key}#2`, a, T0]], closed: [] });
    expect(diff.apply([snap(T0 + 10 * MIN, [a])])).toEqual([{ type: "alive", at: T0 + 10 * MIN }]);
  });

  it("a reused handle with a new start is a new checkout", () => {
    const diff = new SnapshotDiff();
    diff.apply([snap(T0, [a])]);
    const reused = { ...a, user: "bo", start: T0 + 3 * MIN };
    expect(diff.apply([snap(T0 + 10 * MIN, [reused])])).toEqual([
      { type: "checkin", at: T0, reason: "normal", ...strip(a), opened: a.start },
      { type: "checkout", at: T0 + 3 * MIN, ...strip(reused) },
      { type: "alive", at: T0 + 10 * MIN },
    ]);
  });

  it("a server that could not be asked ends nothing: the next answer does — a checkout that survived goes on, the same session; a gone one ends at its last sighting", () => {
    // Before, the server_down ended every session and the survivors began again as new sessions at
    // their last sighting: each session two, a per-session minimum or checkout draw counted twice.
    const diff = new SnapshotDiff();
    diff.apply([snap(T0, [a, b])]);
    const down: SourceEvent = { type: "server_down", at: T0 + 10 * MIN, reason: "lmutil timed out after 60 s" };
    expect(diff.apply([down])).toEqual([]);
    expect(diff.held()).toEqual([a, b]);
    expect(diff.apply([snap(T0 + 20 * MIN, [a, c])])).toEqual([
      { type: "checkin", at: T0, reason: "normal", ...strip(b), opened: b.start },
      { type: "checkout", at: c.start, ...strip(c) },
      { type: "alive", at: T0 + 20 * MIN },
    ]);
  });

  it("a holder a partial output left out is resumed, never billed twice from its start", () => {
    const diff = new SnapshotDiff();
    diff.apply([snap(T0, [a])]);
    diff.apply([snap(T0 + 10 * MIN, [])]);
    expect(diff.apply([snap(T0 + 20 * MIN, [a])])).toEqual([
      { type: "checkout", at: T0, ...strip(a), resumes: a.start }, // the tracker goes on with the session from a.start it ended there
      { type: "alive", at: T0 + 20 * MIN },
    ]);
  });

  it("a daemon-scoped snapshot leaves other daemons' holders alone (a daemon-scoped server_down ends nothing)", () => {
    const diff = new SnapshotDiff();
    const other = { ...b, daemon: "adskflex" };
    diff.apply([snap(T0, [a, other])]);
    expect(diff.apply([{ type: "server_down", at: T0 + MIN, daemon: "ADSKFLEX", reason: "down" }])).toEqual([]);
    expect(diff.held()).toEqual([a, other]);
    expect(diff.apply([{ type: "snapshot", at: T0 + 2 * MIN, daemon: "MLM", holders: [] }])).toEqual([
      { type: "checkin", at: T0, reason: "normal", ...strip(a), opened: a.start },
      { type: "alive", at: T0 + 2 * MIN, daemon: "MLM" },
    ]);
  });

  it("identical holders without a handle are counted as separate checkouts", () => {
    const diff = new SnapshotDiff();
    const { handle: _h, ...noHandle } = a;
    const out = diff.apply([snap(T0, [noHandle, noHandle])]);
    expect(out.filter((e) => e.type === "checkout")).toHaveLength(2);
    expect(diff.apply([snap(T0 + MIN, [noHandle])]).filter((e) => e.type === "checkin")).toHaveLength(1);
  });

  it("a start stated after the snapshot (clock skew) checks out at the snapshot, not in the future", () => {
    const early = holder("lic/27000 9", T0 + MIN);
    expect(new SnapshotDiff().apply([snap(T0, [early])])[0]).toEqual({ type: "checkout", at: T0, ...strip(early) });
  });

  it("real lmstat output: a vendor daemon down in the same poll ends nothing itself, the snapshot's events follow", () => {
    const parsed = new FlexlmLmstatSource({ name: "s", timezone: "America/New_York" })
      .parse(local("snapshot-lmstat-synthetic-newyear.txt"), Date.UTC(2025, 0, 2, 5, 5));
    const out = new SnapshotDiff().apply(parsed.events);
    expect(parsed.events[0]).toMatchObject({ type: "server_down", at: Date.UTC(2025, 0, 2, 5, 5) }); // the source's health says so
    expect(out.map((e) => `${e.type}@${new Date(e.at).toISOString()}`)).toEqual([
      "checkout@2025-01-01T04:50:00.000Z",
      "checkout@2025-01-02T05:01:00.000Z",
      "checkout@2024-12-30T14:00:00.000Z",
      "alive@2025-01-02T05:05:00.000Z",
    ]);
  });
});
