// A backup at real size (scripts/core/backup.ts): a data dir of several GB must not need its size
// again as staging space. The databases are copied, checked and streamed into the tar one at a
// time (the staging holds one copy), the manifest with every copy's hash coming last; restore
// takes both that and the older manifest-first order. A serving core's hold covers only the
// pins, every database being opened before it; restore re-indexes alarms in one transaction. Generated SQLite files stand in for a
// core's (the tar path does not care what the tables hold).
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { repairAlarmIndex } from "../../scripts/core/alarm-index.ts";
import { backup } from "../../scripts/core/backup.ts";
import { restore } from "../../scripts/core/restore.ts";
import { socketPath, startControl } from "../../scripts/core/control.ts";
import { startFront } from "../../scripts/core/front.ts";
import { acquireLock } from "../../scripts/core/lock.ts";
import { bodyToBuffer, readTar, TarWriter } from "../../scripts/core/tar.ts";

const DBS = 5, ROWS = 1500; // ~3 MiB each
const quiet = { write: () => undefined };
let root: string;

/** A data dir of DBS Durable Object databases and a D1, each ~3 MiB. */
function dataDir(dir: string): void {
  const make = (path: string, table: string) => {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA journal_mode = WAL; CREATE TABLE ${table} (id INTEGER PRIMARY KEY, record_json TEXT)`);
    const add = db.prepare(`INSERT INTO ${table} (record_json) VALUES (?)`);
    db.exec("BEGIN");
    for (let i = 0; i < ROWS; i++) add.run(JSON.stringify({ seq: i, pad: `${i}`.repeat(2000 / `${i}`.length) }));
    db.exec("COMMIT");
    db.close();
  };
  const d1 = join(dir, "v3", "d1", "miniflare-D1DatabaseObject");
  const dos = join(dir, "v3", "do", "tally-edge-ContractDO");
  for (const d of [d1, dos]) mkdirSync(d, { recursive: true });
  make(join(d1, `${"d".repeat(64)}.sqlite`), "records");
  for (let i = 0; i < DBS; i++) make(join(dos, `${String(i).repeat(64)}.sqlite`), "records");
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-core-backup-stream-"));
  dataDir(join(root, "data"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

it("stages one database copy at a time, the manifest last, and restores", async () => {
  const out = join(root, "out");
  mkdirSync(out);
  const largest = Math.max(...readdirSync(join(root, "data", "v3", "do", "tally-edge-ContractDO")).map((f) => statSync(join(root, "data", "v3", "do", "tally-edge-ContractDO", f)).size));
  // What the staging dir holds besides the tar being written, sampled while the backup runs.
  let peak = 0;
  const sample = setInterval(() => {
    for (const dir of readdirSync(out).filter((d) => d.startsWith("."))) {
      let bytes = 0;
      for (const f of readdirSync(join(out, dir))) if (f !== "b.tar") bytes += statSync(join(out, dir, f), { throwIfNoEntry: false })?.size ?? 0;
      peak = Math.max(peak, bytes);
    }
  }, 1);
  try {
    expect(await backup({ data: join(root, "data"), out: join(out, "b.tar"), log: quiet })).toBe(0);
  } finally {
    clearInterval(sample);
  }
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(largest + 64 * 1024);

  const names: string[] = [];
  for await (const entry of readTar(join(out, "b.tar"))) names.push(entry.name);
  expect(names.at(-1)).toBe("manifest.json");
  expect(names.filter((n) => n.endsWith(".sqlite"))).toHaveLength(DBS + 1);
  expect(await restore({ from: join(out, "b.tar"), data: join(root, "restored"), log: quiet })).toBe(0);
  const copy = new DatabaseSync(join(root, "restored", "v3", "do", "tally-edge-ContractDO", `${"3".repeat(64)}.sqlite`));
  expect(copy.prepare("SELECT count(*) AS n FROM records").get()).toEqual({ n: ROWS });
  copy.close();
});

it("restores a backup whose manifest comes first (as made before), and refuses one without a manifest", async () => {
  const entries: Array<{ name: string; body: Buffer }> = [];
  for await (const entry of readTar(join(root, "out", "b.tar"))) entries.push({ name: entry.name, body: await bodyToBuffer(entry.body) });
  const older = new TarWriter(join(root, "older.tar"));
  for (const e of [entries.at(-1)!, ...entries.slice(0, -1)]) await older.addBuffer(e.name, e.body);
  await older.finish();
  expect(await restore({ from: join(root, "older.tar"), data: join(root, "restored-older"), log: quiet })).toBe(0);

  const cut = new TarWriter(join(root, "no-manifest.tar"));
  for (const e of entries.slice(0, -1)) await cut.addBuffer(e.name, e.body);
  await cut.finish();
  await expect(restore({ from: join(root, "no-manifest.tar"), data: join(root, "restored-cut"), log: quiet })).rejects.toMatchObject({ code: 1, message: expect.stringContaining("no manifest") });
  expect(readdirSync(root).filter((f) => f.startsWith("restored-cut"))).toEqual([]);
});

it("a serving core's hold covers only the pins: every database is opened before it (no file opened while requests wait)", async () => {
  // A core's lock, control socket and front, as serve.ts sets them up (no workerd: nothing is
  // asked of the upstream), with the data dir above plus enough Durable Objects to count.
  const data = join(root, "data");
  const dos = join(data, "v3", "do", "tally-edge-ContractDO");
  for (let i = 0; i < 40; i++) {
    const db = new DatabaseSync(join(dos, `${i.toString(16).padStart(2, "0").repeat(32)}.sqlite`));
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (a)");
    db.close();
  }
  const fds = () => readdirSync("/proc/self/fd").length;
  const opened: Record<string, number> = {};
  const log = { write: (f: { event: string }) => { if (f.event === "hold" || f.event === "hold_released") opened[f.event] = fds(); } };
  const lock = acquireLock(join(data, "core.lock"), "core");
  const front = await startFront({ host: "127.0.0.1", port: 0, upstream: new URL("http://127.0.0.1:9"), log: quiet });
  const socket = socketPath(data);
  const control = await startControl(socket, front, () => ({ pid: process.pid }), log);
  lock.update({ socket, url: front.url });
  try {
    mkdirSync(join(root, "out-online"));
    expect(await backup({ data, out: join(root, "out-online", "b.tar"), log: quiet })).toBe(0);
  } finally {
    await control.close();
    await front.drain(0);
    lock.release();
  }
  // Before: each pin opened its database, its -wal and its -shm while requests waited (129 here).
  expect(opened.hold_released! - opened.hold!).toBe(0);
});

it("restore re-indexes the alarms of many objects in one transaction (a commit each made 2,000 take ~30 s)", () => {
  const dir = join(root, "alarms", "do", "tally-edge-ContractDO");
  mkdirSync(dir, { recursive: true });
  const OBJECTS = 150;
  for (let i = 0; i < OBJECTS; i++) {
    const db = new DatabaseSync(join(dir, `${i.toString(16).padStart(4, "0").repeat(16)}.sqlite`));
    db.exec("CREATE TABLE _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)");
    db.prepare("INSERT INTO _cf_METADATA VALUES (1, ?)").run(1_800_000_000_000_000_000n);
    db.close();
  }
  new DatabaseSync(join(dir, "metadata.sqlite")).close();
  // Write syscalls of this process while it runs (synchronous: nothing else of ours writes).
  const writes = () => Number(/syscw: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))![1]);
  const before = writes();
  expect(repairAlarmIndex(join(root, "alarms"))).toMatchObject({ objects: OBJECTS, added: OBJECTS });
  // One commit: 17 writes here; a commit per object made 1,571.
  expect(writes() - before).toBeLessThan(OBJECTS / 2);
  const index = new DatabaseSync(join(dir, "metadata.sqlite"));
  expect(index.prepare("SELECT count(*) AS n FROM _cf_ALARM").get()).toEqual({ n: OBJECTS });
  index.close();
});
