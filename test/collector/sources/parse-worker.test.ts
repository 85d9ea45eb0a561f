// A line file parsed on the worker thread (line-parse-worker.ts) gives exactly what the one-thread
// parse gives — records byte for byte, the parser's counters, the progress — on every real line
// fixture and on a generated debug log; the bundle re-enters itself as the worker on Node 20; the
// worker's failures reach the caller as ParseWorkerError; events survive packing (event-pack.ts).
// `npm test` compares a sample of the line fixtures (each format, the real vendors' logs with an
// option, the synthetic edge cases that change counters); SOAK=1 (`npm run soak`) compares all.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../../bench/suites/debuglog-parse.ts";
import { EventPacker, EventUnpacker, PackedIds, type EventPack } from "../../../collector/sources/event-pack.ts";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { eventsFromWorker, ParseWorkerError } from "../../../collector/sources/line-parse-worker.ts";
import { recordBatchesFromFile, WORKER_MIN_BYTES, type ParseDone, type ParseFileOptions } from "../../../collector/sources/parse-file.ts";
import { collectorBundle } from "../../support/collector-process.ts";
import { sharedFixtures } from "./fixture-paths.ts";

async function parsed(kind: string, file: string, opts: ParseFileOptions) {
  const lines: string[] = [];
  const progress: number[] = [];
  let done: ParseDone | undefined;
  for await (const batch of recordBatchesFromFile(kind, file, { ...opts, onProgress: (b) => progress.push(b), onDone: (d) => (done = d) })) for (const r of batch) lines.push(JSON.stringify(r));
  return { text: lines.join("\n"), records: lines.length, done: done!, bytes: progress.at(-1) };
}

const lineFixtures: Array<[string, string]> = [
  ...readdirSync(join(sharedFixtures, "flexlm")).filter((f) => f.startsWith("debuglog-")).map((f): [string, string] => ["flexlm-debuglog", join("flexlm", f)]),
  ...readdirSync(join(sharedFixtures, "rlm")).filter((f) => f.endsWith(".rl")).map((f): [string, string] => ["rlm-reportlog", join("rlm", f)]),
  ...readdirSync(join(sharedFixtures, "jsonl")).map((f): [string, string] => ["jsonl", join("jsonl", f)]),
];

/** The fixtures `npm test` compares: every format, a real log needing package_features, another
 *  vendor's real log, and the synthetic ones that exercise unreadable lines, a DST fold and a fork. */
const SAMPLE = [
  "flexlm/debuglog-imsukh-autodesk.log", "flexlm/debuglog-justbennet-ansys.log", "flexlm/debuglog-synthetic-unreadable.log",
  "flexlm/debuglog-synthetic-dst-fallback.log", "flexlm/debuglog-synthetic-forked.log", "rlm/reportlog-synthetic-std.rl",
  "jsonl/sessions-synthetic.jsonl",
];
const compared = process.env.SOAK ? lineFixtures : lineFixtures.filter(([, name]) => SAMPLE.includes(name));

describe("parse on a worker thread", () => {
  it("finds the line fixtures, and each of the sample", () => {
    expect(lineFixtures.length).toBeGreaterThanOrEqual(12);
    expect(compared.map(([, name]) => name).sort()).toEqual(process.env.SOAK ? lineFixtures.map(([, name]) => name).sort() : [...SAMPLE].sort());
  });

  it.each(compared)("%s %s: same records, counters and progress as one thread", async (kind, name) => {
    const file = join(sharedFixtures, name);
    for (const timezone of ["Europe/Madrid"]) {
      const opts: ParseFileOptions = { ...(kind === "jsonl" ? {} : { timezone }), ...(name.includes("autodesk") ? { package_features: ["87048INVNTOR_2020_0F"] } : {}) }; // jsonl's times carry their offset
      const one = await parsed(kind, file, { ...opts, thread: "never" });
      const two = await parsed(kind, file, { ...opts, thread: "always" });
      expect(two.text).toBe(one.text);
      expect(two.done).toEqual(one.done);
      expect(two.bytes).toBe((await stat(file)).size);
    }
  });

  describe("a generated debug log", () => {
    let dir: string, file: string, lines: number;
    /** The one-thread parse of the log, the reference both comparisons below read. */
    let one: Awaited<ReturnType<typeof parsed>>;
    /** The collector bundle, built once for both bundle tests. */
    let script: Promise<string>;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tally-parse-worker-"));
      file = join(dir, "lmgrd.log");
      lines = await generate(file, WORKER_MIN_BYTES + 1024 * 1024);
      script = collectorBundle();
      one = await parsed("flexlm-debuglog", file, { timezone: "Europe/Madrid", thread: "never" });
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("same records on the worker as on one thread; ids hashed ahead by the worker", async () => {
      const auto = await parsed("flexlm-debuglog", file, { timezone: "Europe/Madrid", thread: "always" });
      expect(one.records).toBeGreaterThan(100_000);
      expect(one.done.source.lines).toBe(lines);
      expect(auto.text).toBe(one.text);
      expect(auto.done).toEqual(one.done);
    });

    const NODE20 = ["/usr/local/bin/node", "/usr/bin/node"].find((p) => existsSync(p) && spawnSync(p, ["--version"], { encoding: "utf8" }).stdout.startsWith("v20."));
    it("the one-file bundle re-enters itself as the worker (on Node 20 where the machine has it): same output as one thread", async () => {
      const run = spawnSync(NODE20 ?? process.execPath, [await script, "parse", "--source", "flexlm-debuglog", "--file", file, "--timezone", "Europe/Madrid"], { encoding: "utf8", maxBuffer: 1 << 30, env: { ...process.env, TALLY_PARSE_THREAD: "always" } });
      expect(run.stderr).not.toMatch(/error/i);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(one.text + "\n");
      expect(JSON.parse(run.stderr.trim().split("\n").at(-1)!).lines).toBe(lines);
    }, 60_000);

    it("a TALLY_PARSE_THREAD that means nothing is refused before a byte is read", async () => {
      const run = spawnSync(NODE20 ?? process.execPath, [await script, "parse", "--source", "flexlm-debuglog", "--file", file], { encoding: "utf8", env: { ...process.env, TALLY_PARSE_THREAD: "2" } });
      expect(run.status).toBe(2);
      expect(run.stdout).toBe("");
      expect(JSON.parse(run.stderr.split("\n")[0]!)).toMatchObject({ error: "bad_thread" });
      expect(run.stderr).not.toContain("usage:"); // the environment's mistake, not the command line's
    }, 60_000);

    it("stopping early ends the worker", async () => {
      let batches = 0;
      for await (const _ of recordBatchesFromFile("flexlm-debuglog", file, { timezone: "UTC", thread: "always" })) if (++batches === 2) break;
      expect(batches).toBe(2);
    });
  });

  it("the worker's failures reach the caller: a file gone before it was read, a kind it cannot read", async () => {
    const missing = join(tmpdir(), "tally-parse-worker-missing.log");
    const read = async (kind: string) => {
      for await (const _ of eventsFromWorker(kind, missing, { name: "x", timezone: "UTC" }));
    };
    const gone = await read("flexlm-debuglog").catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ParseWorkerError);
    expect(gone).toMatchObject({ code: "ENOENT", message: expect.stringContaining(missing) });
    const kind = await read("flexlm-lmstat").catch((e: unknown) => e);
    expect(kind).toBeInstanceOf(ParseWorkerError);
    expect((kind as Error).message).toBe("flexlm-lmstat is not a line source");
  });
});

/** A pack's events, each copied out of the object it is read into, without the fields it does not have. */
function unpack(unpacker: EventUnpacker, pack: EventPack, out: SourceEvent[]): void {
  const events = unpacker.open(pack);
  for (let i = 0; i < events.length; i++) out.push(Object.fromEntries(Object.entries(events.at(i)).filter(([, v]) => v !== undefined)) as SourceEvent);
}

/** The packer's pack so far, unpacked into `out`; whether its name table started afresh with it. */
function takeInto(packer: EventPacker, unpacker: EventUnpacker, out: SourceEvent[]): boolean {
  const pack = packer.take();
  unpack(unpacker, pack, out);
  return pack.reset;
}

describe("event packing", () => {
  const events: SourceEvent[] = [
    { type: "checkout", at: 1_700_000_000_000, daemon: "MLM", feature: "MATLAB", user: "José Luis", host: "pc-1", count: 2 },
    { type: "checkout", at: 1_700_000_001_000, daemon: "MLM", feature: "POOL", user: "ann", host: "h:27000", handle: "1a2b", product: "NASTRAN", version: "2024.1", count: 1 },
    { type: "checkin", at: 1_700_000_002_500, daemon: "MLM", feature: "MATLAB", user: "José Luis", host: "pc-1", count: 2, reason: "normal" },
    { type: "checkin", at: 1_700_000_003_000, daemon: "rlm", feature: "", user: "", host: "", handle: "ff", reason: "shutdown" },
    { type: "denial", at: 1_700_000_004_000, daemon: "MLM", feature: "MATLAB", user: "bob", host: "pc-2", reason: "Licensed number of users already reached. (-4,342)" },
    { type: "alive", at: 1_700_000_005_000, daemon: "MLM" },
    { type: "alive", at: 1_700_000_006_000 },
    { type: "server_down", at: 1_700_000_007_000, reason: "EXITING DUE TO SIGNAL 15" },
    { type: "server_down", at: 1_700_000_008_000, daemon: "MLM", reason: "Server started on x" },
  ];

  it("every kind of line-source event comes out as it went in, with the ids hashed ahead (read into one object per type: nothing left of the event before)", () => {
    const packer = new EventPacker(4);
    const unpacker = new EventUnpacker();
    const out: SourceEvent[] = [];
    const ids: Array<[number, string]> = [];
    events.forEach((e, i) => {
      if (packer.full) {
        const pack = packer.take();
        const packed = new PackedIds(pack);
        for (let j = 0; j < pack.events; j++) ids.push([packed.ordinalAt(j), packed.ordinalAt(j) >= 0 ? packed.idAt(j) : ""]);
        unpack(unpacker, pack, out);
      }
      packer.add(e, i % 3 === 0 ? i : -1, i % 3 === 0 ? String(i).padStart(32, "f") : "");
    });
    const pack = packer.take();
    const packed = new PackedIds(pack);
    for (let j = 0; j < pack.events; j++) ids.push([packed.ordinalAt(j), packed.ordinalAt(j) >= 0 ? packed.idAt(j) : ""]);
    unpack(unpacker, pack, out);
    expect(out).toStrictEqual(events);
    expect(ids).toEqual(events.map((_, i) => (i % 3 === 0 ? [i, String(i).padStart(32, "f")] : [-1, ""])));
  });

  it("the name table starts afresh past 100,000 names, on both sides", () => {
    const packer = new EventPacker(1000);
    const unpacker = new EventUnpacker();
    const out: SourceEvent[] = [];
    let resets = 0;
    for (let i = 0; i < 60_000; i++) {
      if (packer.full && takeInto(packer, unpacker, out)) resets++;
      packer.add({ type: "checkout", at: i * 1000, daemon: "d", feature: "f", user: `u${i}`, host: `h${i}`, count: 1 });
    }
    takeInto(packer, unpacker, out);
    expect(resets).toBeGreaterThan(0);
    expect(out.map((e) => (e as { user: string }).user)).toEqual(Array.from({ length: 60_000 }, (_, i) => `u${i}`));
    expect(out.at(-1)).toEqual({ type: "checkout", at: 59_999_000, daemon: "d", feature: "f", user: "u59999", host: "h59999", count: 1 });
  });

  it("a checkout or check-in packed from its fields comes out as its event would; a holder's ids kept with its names are made afresh once the table starts afresh", () => {
    const packer = new EventPacker(1000);
    const unpacker = new EventUnpacker();
    const out: SourceEvent[] = [];
    const who = { feature: "POOL", user: "José Luis", host: "pc-1", product: "NASTRAN" };
    let resets = 0;
    for (let i = 0; i < 120_000; i++) {
      if (packer.full && takeInto(packer, unpacker, out)) resets++;
      if (i % 2 === 0) packer.add({ type: "checkout", at: i * 1000, daemon: "d", feature: "f", user: `u${i}`, host: `h${i}`, count: 1 });
      else packer.addUsage(i % 4 === 1, i * 1000, "MLM", who, 2, i % 8 === 1 ? "1a2b" : undefined, i % 4 === 1 ? "normal" : undefined, -1, "");
    }
    takeInto(packer, unpacker, out);
    expect(resets).toBeGreaterThan(0);
    const expected = (i: number): SourceEvent => {
      const e: SourceEvent = i % 4 === 1 ? { type: "checkin", at: i * 1000, daemon: "MLM", feature: "POOL", user: "José Luis", host: "pc-1", count: 2, reason: "normal" } : { type: "checkout", at: i * 1000, daemon: "MLM", feature: "POOL", user: "José Luis", host: "pc-1", count: 2 };
      if (i % 8 === 1) e.handle = "1a2b";
      e.product = "NASTRAN";
      return e;
    };
    expect(out.filter((_, i) => i % 2 === 1)).toStrictEqual(Array.from({ length: 60_000 }, (_, k) => expected(2 * k + 1)));
  });

  it("events a line source never emits are refused, not sent half", () => {
    expect(() => new EventPacker(1).add({ type: "snapshot", at: 0, holders: [] })).toThrow(/does not cross threads/);
  });
});
