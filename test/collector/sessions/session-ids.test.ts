// Session ids are SHA-256(source|key|startMs|ordinal) whatever the text; the bytes id-text.ts writes
// for the hash are exactly that text's UTF-8.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdTexts, idText } from "../../../collector/sessions/id-text.ts";
import { SessionIds } from "../../../collector/sessions/session-ids.ts";

const sha32 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex").slice(0, 32);
const utf8 = (text: string) => [...Buffer.from(text, "utf8")];

describe("idText", () => {
  it("is the UTF-8 of `prefix key|seconds000|ordinal`, for ASCII and any Unicode", () => {
    for (const key of ["MLM|MATLAB|ann|pc1|", "MLM|MATLAB|José Luis 17|PC-17|", "d|€uro|用户|😀 host|h|", "ü".repeat(390)]) {
      expect([...idText("site ü|", key, 1_641_000_000, 3)!]).toEqual(utf8(`site ü|${key}|1641000000000|3`));
    }
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 80 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.nat(), (prefix, key, seconds, ordinal) => {
        expect([...idText(prefix, key, seconds, ordinal)!]).toEqual(utf8(`${prefix}${key}|${seconds}000|${ordinal}`));
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves to the caller what it does not write: lone surrogates, long texts, odd numbers", () => {
    expect(idText("x|", "MLM|\ud800|pc1|", 1_641_000_000, 0)).toBeUndefined();
    expect(idText("x|", "\udc00x", 1, 0)).toBeUndefined();
    expect(idText("x|", "a".repeat(1000), 1, 0)).toBeUndefined();
    for (const seconds of [0, -1, 1.5, 2 ** 31, Number.NaN]) expect(idText("x|", "k", seconds, 0)).toBeUndefined();
    for (const ordinal of [-1, 0.5, 2 ** 31]) expect(idText("x|", "k", 1, ordinal)).toBeUndefined();
  });
});

describe("IdTexts (a key's bytes kept)", () => {
  it("writes what idText writes, for keys seen again with other seconds and ordinals", () => {
    const texts = new IdTexts("site ü|");
    const keys = ["MLM|MATLAB|ann|pc1|", "MLM|MATLAB|José Luis 17|PC-17|", "d|€uro|用户|😀 host|h|", "MLM|\ud800|pc1|", "a".repeat(1000)];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.integer({ min: -1, max: 2 ** 31 }), fc.integer({ min: -1, max: 2 ** 31 }), (key, seconds, ordinal) => {
        const expected = idText("site ü|", key, seconds, ordinal);
        const written = texts.of(key, seconds, ordinal);
        expect(written === undefined ? undefined : [...written]).toEqual(expected === undefined ? undefined : [...expected]);
        if (written) expect([...written]).toEqual(utf8(`site ü|${key}|${seconds}000|${ordinal}`));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("SessionIds.next", () => {
  it("is the first 32 hex digits of SHA-256(source|key|startMs|ordinal), whatever the text and time", () => {
    const cases: Array<[string, string, number]> = [
      ["lmgrd.log", "MLM|MATLAB|ann|pc1|", Date.UTC(2022, 0, 1, 9, 0, 5)],
      ["flexlm-debuglog", "MLM|Optimization_Toolbox|José Luis 272|PC-78|", Date.UTC(2026, 10, 27, 9, 50)],
      ["ü-source", "adskflex|87545ACD_2022_0F|bob|ws-9|h1|", Date.UTC(2024, 2, 31, 1, 59, 59)],
      ["x", "d|f|\ud800 lone|h|", Date.UTC(2022, 0, 1)],
      ["x", "d|f|u|h|", 0],
      ["x", "d|f|u|h|", -86_400_000],
      ["x", "d|f|u|h|", 4_102_444_800_000], // 2100: seconds past 2^31
      ["x", `d|f|${"long user ".repeat(50)}|h|`, Date.UTC(2022, 0, 1)],
    ];
    for (const [source, key, start] of cases) {
      const ids = new SessionIds(source);
      for (let ordinal = 0; ordinal < 3; ordinal++) expect(ids.next(key, start, start)).toBe(sha32(`${source}|${key}|${start}|${ordinal}`));
    }
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 60 }), fc.integer({ min: 0, max: 4_000_000_000 }), (source, key, seconds) => {
        expect(new SessionIds(source).next(key, seconds * 1000, seconds * 1000)).toBe(sha32(`${source}|${key}|${seconds * 1000}|0`));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("ids hashed ahead (the parse worker)", () => {
  it("a prepared id is taken only for the start and ordinal it was hashed with, and only once", () => {
    const ids = new SessionIds("s");
    const t = 1_700_000_000_000;
    ids.prepare(t, 0, "a".repeat(32));
    expect(ids.next("k", t, t)).toBe("a".repeat(32)); // same start, same ordinal (0)
    ids.prepare(t, 0, "b".repeat(32)); // the tracker counts ordinal 1 here: hashed afresh
    expect(ids.next("k", t, t)).toBe(sha32(`s|k|${t}|1`));
    ids.prepare(t + 1000, 0, "c".repeat(32)); // another start: hashed afresh
    expect(ids.next("k2", t, t)).toBe(sha32(`s|k2|${t}|0`));
    expect(ids.next("k3", t + 1000, t + 1000)).toBe(sha32(`s|k3|${t + 1000}|0`)); // dropped after one use
    ids.prepare(t + 2000, 0, "d".repeat(32));
    ids.unprepare();
    expect(ids.next("k4", t + 2000, t + 2000)).toBe(sha32(`s|k4|${t + 2000}|0`));
  });

  it("IdsAhead counts like the tracker: the ids it hashes are the tracker's, same second and back in time included", async () => {
    const { IdsAhead } = await import("../../../collector/sessions/ids-ahead.ts");
    const { SessionTracker } = await import("../../../collector/sessions/session-tracker.ts");
    const ahead = new IdsAhead("src");
    const tracker = new SessionTracker({ source: "src" });
    const t = 1_700_000_000_000;
    const starts = [t, t, t + 500, t - 3_600_000, t - 3_600_000, t + 7_200_000, t];
    const guessed: string[] = [];
    for (const at of starts) {
      const e = { type: "checkout" as const, at, daemon: "d", feature: "f", user: "u", host: "h", count: 1 };
      ahead.see(e, true);
      guessed.push(ahead.id);
      tracker.feed(e);
    }
    expect(ahead.ordinal).toBe(3); // the fourth session of this key started in second t
    expect(tracker.openSessions().map((s) => s.id)).toEqual(guessed);
  });
});

describe("the same-second table kept as a log (takeAdded)", () => {
  it("gives every session started since the last call, in order, however many (across its chunks), and a log of them restores the table", () => {
    const ids = new SessionIds("s");
    expect(ids.takeAdded()).toBeNull(); // not kept as a log before: start afresh from table()
    const t = 1_700_000_000; // seconds
    const expected: Array<string | number> = [];
    for (let i = 0; i < 5_000; i++) { // 10,000 entries: past two chunks of 4,096
      const key = `k${i % 7}`, second = t + Math.floor(i / 3);
      ids.next(key, second * 1000, second * 1000);
      expected.push(key, second);
    }
    const added = ids.takeAdded()!;
    expect(added).toEqual(expected);
    expect(ids.takeAdded()).toEqual([]);
    ids.next("k0", (t + 5_000) * 1000, (t + 5_000) * 1000);
    expect(ids.takeAdded()).toEqual(["k0", t + 5_000]);
    // A log of those lines gives the same ordinals as the table it was taken from.
    const restored = new SessionIds("s");
    restored.restoreLogged(`${JSON.stringify(added)}\n${JSON.stringify(["k0", t + 5_000])}\n`, 0);
    for (const [key, second] of [["k1", t + 1], ["k0", t + 5_000], ["k3", t + 1_666], ["k6", t]] as const) expect(restored.next(key, second * 1000, second * 1000)).toBe(ids.next(key, second * 1000, second * 1000));
  });
});
