// FileTail and FollowedSource on real files: rotation, copytruncate, half-written lines, and a
// collector restart mid-session lose or double count no second.
import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlexlmDebugLogSource } from "../../../collector/sources/flexlm-debuglog.ts";
import { FileTail } from "../../../collector/sources/tail.ts";
import { FollowedSource } from "../../../collector/sessions/followed-source.ts";
import type { RecordBody, UsageData } from "../../../collector/sessions/records.ts";

const fresh = () => mkdtempSync(join(tmpdir(), "tally-tail-"));
const usage = (rs: RecordBody[]) => rs.filter((r): r is { kind: "usage"; data: UsageData } => r.kind === "usage").map((r) => r.data);
const seconds = (rs: RecordBody[]) => usage(rs).reduce((a, u) => a + ((u.end - u.start) / 1000) * u.count, 0);
const L = {
  anchor: " 9:00:00 (lmgrd) TIMESTAMP 5/2/2022\n",
  out: (t: string, u: string) => `${t} (MLM) OUT: "MATLAB" ${u}@pc  \n`,
  in: (t: string, u: string) => `${t} (MLM) IN: "MATLAB" ${u}@pc  \n`,
};

describe("FileTail", () => {
  it("returns only complete lines: a line written in two halves comes out once, whole", async () => {
    const file = join(fresh(), "a.log");
    writeFileSync(file, "\ufefffirst\r\nsec");
    const tail = new FileTail(file);
    expect(await tail.poll()).toEqual(["first"]);
    appendFileSync(file, "ond half\nthird");
    expect(await tail.poll()).toEqual(["second half"]);
    expect(await tail.poll()).toEqual([]);
    await tail.close();
  });

  it("after rotation reads the rest of the old file, then the new one from its start", async () => {
    const dir = fresh();
    const file = join(dir, "a.log");
    writeFileSync(file, "one\n");
    const tail = new FileTail(file);
    expect(await tail.poll()).toEqual(["one"]);
    appendFileSync(file, "two\nthree");
    renameSync(file, join(dir, "a.log.1"));
    writeFileSync(file, "four\n");
    expect(await tail.poll()).toEqual(["two", "three", "four"]);
    expect(tail.stats.rotations).toBe(1);
    await tail.close();
  });

  it("after copytruncate reads the file again from its start", async () => {
    const file = join(fresh(), "a.log");
    writeFileSync(file, "one\ntwo\n");
    const tail = new FileTail(file);
    expect(await tail.poll()).toEqual(["one", "two"]);
    truncateSync(file, 0);
    appendFileSync(file, "x\n");
    expect(await tail.poll()).toEqual(["x"]);
    expect(tail.stats.truncations).toBe(1);
    await tail.close();
  });
});

describe("FollowedSource", () => {
  const parser = () => new FlexlmDebugLogSource({ name: "lic", timezone: "UTC" });

  it("a restart in the middle of a session neither loses nor double counts a second", async () => {
    const state = fresh(), file = join(fresh(), "lmgrd.log");
    writeFileSync(file, L.anchor + L.out(" 9:10:00", "ann") + " 9:40:00 (MLM) TIMESTAMP 5/2/2022\n" + ' 9:50:00 (MLM) OUT: "MATLAB" bob@p');
    const a = await FollowedSource.open({ stateDir: state, name: "lic", file, parser: parser(), cut_s: 300 });
    const first = await a.step(Date.parse("2022-05-02T12:00:00Z"));
    await a.commit();
    await a.close();
    appendFileSync(file, "c  \n" + L.in("10:00:00", "ann") + L.in("10:20:00", "bob"));
    const b = await FollowedSource.open({ stateDir: state, name: "lic", file, parser: parser(), cut_s: 300 });
    const second = await b.step(Date.parse("2022-05-02T12:00:00Z"));
    await b.commit();
    await b.close();
    expect(seconds(first)).toBe(30 * 60 - 1);
    expect(seconds([...first, ...second])).toBe(50 * 60 + 30 * 60);
    expect(usage([...first, ...second]).filter((u) => u.final)).toHaveLength(2);
  });

  it("rotation and copytruncate between polls keep every second of a session", async () => {
    const state = fresh(), dir = fresh(), file = join(dir, "lmgrd.log");
    writeFileSync(file, L.anchor + L.out(" 9:10:00", "ann"));
    const f = await FollowedSource.open({ stateDir: state, name: "lic", file, parser: parser() });
    const rs = await f.step(0);
    appendFileSync(file, " 9:30:00 (MLM) TIMESTAMP 5/2/2022\n");
    renameSync(file, join(dir, "lmgrd.log.1"));
    writeFileSync(file, L.out(" 9:40:00", "bob"));
    rs.push(...(await f.step(0)));
    truncateSync(file, 0);
    writeFileSync(file, L.in("10:10:00", "ann") + L.in("10:20:00", "bob"));
    rs.push(...(await f.step(0)));
    await f.close();
    expect(seconds(rs)).toBe(60 * 60 + 40 * 60);
  });
});
