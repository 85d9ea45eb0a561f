// FileTail and LineReader on real files: rotation, copytruncate, half-written lines, bounded
// chunks of a big backlog, start at the end, encodings, and a collector restart mid-session lose
// or double count no second.
import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileTail } from "../../../collector/sources/tail.ts";
import { ReadAhead, SliceBuffers } from "../../../collector/sources/read-ahead.ts";
import { lineEncodingProblem } from "../../../collector/sources/tail-chunk.ts";
import { LineReader, type LineReadState } from "../../../collector/daemon/line-reader.ts";
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
    expect(await lines(tail)).toEqual(["first"]);
    appendFileSync(file, "ond half\nthird");
    expect(await lines(tail)).toEqual(["second half"]);
    expect(await lines(tail)).toEqual([]);
    await tail.close();
  });

  it("after rotation reads the rest of the old file, then the new one from its start", async () => {
    const dir = fresh();
    const file = join(dir, "a.log");
    writeFileSync(file, "one\n");
    const tail = new FileTail(file);
    expect(await lines(tail)).toEqual(["one"]);
    appendFileSync(file, "two\nthree");
    renameSync(file, join(dir, "a.log.1"));
    writeFileSync(file, "four\n");
    expect(await lines(tail)).toEqual(["two", "three", "four"]);
    expect(tail.stats.rotations).toBe(1);
    await tail.close();
  });

  it("after copytruncate reads the file again from its start", async () => {
    const file = join(fresh(), "a.log");
    writeFileSync(file, "one\ntwo\n");
    const tail = new FileTail(file);
    expect(await lines(tail)).toEqual(["one", "two"]);
    truncateSync(file, 0);
    appendFileSync(file, "x\n");
    expect(await lines(tail)).toEqual(["x"]);
    expect(tail.stats.truncations).toBe(1);
    await tail.close();
  });
});

describe("FileTail on a backlog", () => {
  it("reads a file many times its chunk size in chunks of at most that size, every line once, in order", async () => {
    const file = join(fresh(), "big.log");
    const all = Array.from({ length: 200_000 }, (_, i) => `line ${i} ${"x".repeat(i % 37)}`);
    writeFileSync(file, all.join("\n") + "\n");
    const tail = new FileTail(file);
    const got: string[] = [];
    let reads = 0;
    let returned = 0;
    for (;;) {
      const chunk = await tail.read(64 * 1024);
      reads++;
      expect(chunk.bytes).toBeLessThanOrEqual(64 * 1024);
      // The position moves by exactly what was returned, so a caller can persist it after each chunk.
      for (const l of chunk.lines) returned += Buffer.byteLength(l) + 1;
      expect(tail.position()!.offset).toBe(returned);
      for (const l of chunk.lines) got.push(l);
      if (chunk.caughtUp) break;
    }
    expect(got).toEqual(all);
    expect(reads).toBeGreaterThan(Buffer.byteLength(all.join("\n")) / (64 * 1024));
    await tail.close();
  });

  it("reading on in slices (the next read ahead) gives what reads of the same sizes give; a file cut meanwhile is seen by the next read", async () => {
    const dir = fresh();
    const all = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${"y".repeat(i % 53)}`);
    const text = all.join("\n") + "\n";
    const slices = (i: number) => 1 + ((i * 7919) % (48 * 1024)); // sizes that vary, as a step's last slice is smaller
    const take = async (tail: FileTail, on: boolean) => {
      const out: Array<{ lines: string[]; bytes: number; offset: number }> = [];
      for (let i = 0; ; i++) {
        const chunk = await (on && i % 5 !== 0 ? tail.readOn(slices(i)) : tail.read(slices(i)));
        out.push({ lines: chunk.lines, bytes: chunk.bytes, offset: tail.position()!.offset });
        if (chunk.caughtUp) return out;
      }
    };
    writeFileSync(join(dir, "a.log"), text);
    writeFileSync(join(dir, "b.log"), text);
    writeFileSync(join(dir, "r.log"), text);
    const [plain, on, reusing] = [new FileTail(join(dir, "a.log")), new FileTail(join(dir, "b.log")), new FileTail(join(dir, "r.log"), undefined, { reuseBuffers: true })];
    const expected = await take(plain, false);
    expect(await take(on, true)).toEqual(expected);
    expect(await take(reusing, true)).toEqual(expected); // two buffers in turn, each read's lines taken before the next
    await reusing.close();
    expect(expected.flatMap((c) => c.lines)).toEqual(all);
    // Cut while a slice is read ahead: reading on gives at most that slice (lines the file held, in
    // order), then no more; the next read sees the cut and starts the file again.
    writeFileSync(join(dir, "c.log"), text);
    const cut = new FileTail(join(dir, "c.log"));
    const before = [...(await cut.read(10_000)).lines, ...(await cut.readOn(10_000)).lines];
    truncateSync(join(dir, "c.log"), 0);
    for (let chunk = await cut.readOn(10_000); ; chunk = await cut.readOn(10_000)) {
      before.push(...chunk.lines);
      if (chunk.caughtUp) break;
    }
    expect(before.length).toBeLessThan(1000);
    expect(before).toEqual(all.slice(0, before.length));
    appendFileSync(join(dir, "c.log"), "new\n");
    expect((await cut.read(10_000)).lines).toEqual(["new"]);
    for (const tail of [plain, on, cut]) await tail.close();
  });

  it("slice buffers: a new one per read, or two in turn; one a given-up read-ahead may still fill is never handed out again", async () => {
    const fresh_ = new SliceBuffers(false);
    expect(fresh_.take(8)).not.toBe(fresh_.take(8));
    const two = new SliceBuffers(true);
    const [a, b] = [two.take(8), two.take(8)];
    expect(a).not.toBe(b);
    expect([two.take(8), two.take(4)]).toEqual([a, b]);
    expect(two.take(16)).not.toBe(a); // too small: replaced
    two.forget(b);
    const c = two.take(8);
    expect([c === a, c === b]).toEqual([false, false]);
    // A read-ahead dropped (a new step's first read) or not taken as started gives its buffer up:
    // the read into it may still be running.
    const dir = fresh();
    writeFileSync(join(dir, "x.log"), "a\n".repeat(1000));
    const fh = await open(join(dir, "x.log"), "r");
    for (const giveUp of [(ahead: ReadAhead) => ahead.drop(), async (ahead: ReadAhead) => expect(await ahead.take(fh, 50, 10)).toBeUndefined()]) {
      const buffers = new SliceBuffers(true);
      const [first, second] = [buffers.take(100), buffers.take(100)];
      const ahead = new ReadAhead(buffers);
      ahead.start(fh, 0, 100); // into `first`, the next in turn
      await giveUp(ahead);
      const next = [buffers.take(100), buffers.take(100)];
      expect(next).toContain(second);
      expect(next).not.toContain(first);
    }
    await fh.close();
  });

  it("a chunk of many blocks is counted on its bytes and decoded block by block, alike however it is read", async () => {
    const file = join(fresh(), "blocks.log");
    // ~300 KiB: several 64 KiB blocks, multi-byte names across block ends, CRLF, a BOM, an unterminated end.
    const body = Array.from({ length: 6000 }, (_, i) => `${i} José Núñez ${"x".repeat(i % 40)}${i % 3 === 0 ? "\r" : ""}\n`).join("");
    writeFileSync(file, `\ufeff${body}tail without LF`);
    const tail = new FileTail(file);
    const chunk = await tail.read(1 << 20);
    const blocks = [...chunk.blocks];
    expect(blocks.length).toBeGreaterThan(3);
    expect([...chunk.blocks]).toEqual(blocks); // iterated again: decoded again, the same
    expect(blocks.join("")).toBe(body);
    expect(chunk.text).toBe(body);
    expect(chunk.lineCount).toBe(6000);
    expect(chunk.lines).toHaveLength(6000);
    expect(chunk.lines[3]).toBe(`3 José Núñez ${"x".repeat(3)}`); // CR dropped
    const rest = await tail.readRest();
    expect([rest.lineCount, rest.text, rest.lines]).toEqual([1, "tail without LF", ["tail without LF"]]);
    await tail.close();
  });

  it("start at the end: a file never read before is followed from its last complete line on", async () => {
    const file = join(fresh(), "a.log");
    writeFileSync(file, "old 1\nold 2\npartial");
    const tail = new FileTail(file, undefined, { startAtEnd: true });
    expect(await lines(tail)).toEqual([]);
    appendFileSync(file, " line\nnew\n");
    expect(await lines(tail)).toEqual(["partial line", "new"]);
    // A saved position wins over start-at-end (a restart goes on where it was).
    const resumed = new FileTail(file, { ...tail.position()!, offset: 0 }, { startAtEnd: true });
    expect(await lines(resumed)).toEqual(["old 1", "old 2", "partial line", "new"]);
    await Promise.all([tail.close(), resumed.close()]);
  });

  it("decodes the configured encoding (windows-1252) and refuses encodings whose lines are not split on 0x0A", async () => {
    const file = join(fresh(), "latin.log");
    writeFileSync(file, Buffer.from([0x4a, 0x6f, 0x73, 0xe9, 0x0a, 0x80, 0x0a]));
    const tail = new FileTail(file, undefined, { encoding: "windows-1252" });
    expect(await lines(tail)).toEqual(["José", "€"]);
    await tail.close();
    expect(lineEncodingProblem("windows-1252")).toBeNull();
    expect(lineEncodingProblem("utf-16le")).toMatch(/not line-compatible/);
    expect(lineEncodingProblem("klingon")).toMatch(/unknown encoding/);
  });

  it("skips a 'line' longer than 16 MiB instead of holding it (counted), and goes on after it", async () => {
    const file = join(fresh(), "binary.log");
    writeFileSync(file, Buffer.concat([Buffer.from("before\n"), Buffer.alloc(17 * 1024 * 1024, 0x41), Buffer.from("\nafter\n")]));
    const tail = new FileTail(file);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) got.push(...(await tail.read(1024 * 1024)).lines);
    expect(got).toEqual(["before", "after"]);
    expect(tail.stats.oversized_lines).toBe(1);
    await tail.close();
  });
});

describe("LineReader", () => {
  const settings = { timezone: "UTC", encoding: "utf-8", cut_s: 300 };
  const readAll = async (r: LineReader) => {
    const out: RecordBody[] = [];
    for (;;) {
      const step = await r.read();
      out.push(...step.bodies);
      if (step.caughtUp) return out;
    }
  };

  it("a restart in the middle of a session neither loses nor double counts a second", async () => {
    const file = join(fresh(), "lmgrd.log");
    writeFileSync(file, L.anchor + L.out(" 9:10:00", "ann") + " 9:40:00 (MLM) TIMESTAMP 5/2/2022\n" + ' 9:50:00 (MLM) OUT: "MATLAB" bob@p');
    const a = LineReader.open("lic", "flexlm-debuglog", file, settings);
    const first = [...(await readAll(a)), ...a.cut(Date.parse("2022-05-02T12:00:00Z"))];
    const saved: LineReadState = JSON.parse(JSON.stringify(a.state()));
    await a.close();
    appendFileSync(file, "c  \n" + L.in("10:00:00", "ann") + L.in("10:20:00", "bob"));
    const b = LineReader.open("lic", "flexlm-debuglog", file, settings, saved);
    const second = await readAll(b);
    await b.close();
    expect(seconds(first)).toBe(30 * 60 - 61); // up to a minute and a second short of the last line (9:40)
    expect(seconds([...first, ...second])).toBe(50 * 60 + 30 * 60);
    expect(usage([...first, ...second]).filter((u) => u.final)).toHaveLength(2);
    expect(b.totals()).toMatchObject({ lines: 6 });
  });

  it("rotation and copytruncate between polls keep every second of a session", async () => {
    const dir = fresh(), file = join(dir, "lmgrd.log");
    writeFileSync(file, L.anchor + L.out(" 9:10:00", "ann"));
    const f = LineReader.open("lic", "flexlm-debuglog", file, settings);
    const rs = await readAll(f);
    appendFileSync(file, " 9:30:00 (MLM) TIMESTAMP 5/2/2022\n");
    renameSync(file, join(dir, "lmgrd.log.1"));
    writeFileSync(file, L.out(" 9:40:00", "bob"));
    rs.push(...(await readAll(f)), ...(await readAll(f)));
    truncateSync(file, 0);
    writeFileSync(file, L.in("10:10:00", "ann") + L.in("10:20:00", "bob"));
    rs.push(...(await readAll(f)));
    await f.close();
    expect(seconds(rs)).toBe(60 * 60 + 40 * 60);
  });

  it("cuts open sessions only at multiples of cut_s while reading; `cut(now)` adds one at now", async () => {
    const file = join(fresh(), "lmgrd.log");
    writeFileSync(file, L.anchor + L.out(" 9:00:00", "ann") + " 9:00:00 (MLM) TIMESTAMP 5/2/2022\n".replace(" 9:00:00", "11:59:00"));
    const r = LineReader.open("lic", "flexlm-debuglog", file, { ...settings, cut_s: 3600 });
    const read = usage(await readAll(r));
    expect(read.map((u) => [u.start, u.end].map((t) => new Date(t).toISOString().slice(11, 16)))).toEqual([["09:00", "10:00"], ["10:00", "11:00"]]);
    const cut = usage(r.cut(Date.parse("2022-05-02T11:30:00Z")));
    expect(cut.map((u) => [u.start, u.end].map((t) => new Date(t).toISOString().slice(11, 16)))).toEqual([["11:00", "11:30"]]);
    await r.close();
  });
});

async function lines(tail: FileTail): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const chunk = await tail.read();
    out.push(...chunk.lines);
    if (chunk.caughtUp) return out;
  }
}
