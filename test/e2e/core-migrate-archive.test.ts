// `core migrate` archives each contract's export page by page (scripts/core/migrate.ts): each page
// is on disk before the next is asked for, so the migrate's memory holds one page whatever the
// contract's size (a million-record contract is about a GB of JSON); the file is named only when
// complete, and a run cut midway leaves a `.partial` that the next run writes anew.
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { archiveExport } from "../../scripts/core/migrate.ts";
import { CoreExit } from "../../scripts/core/exit.ts";
import { exportSource } from "../support/export-source.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-migrate-archive-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

it("each export page is written before the next is fetched; the file is named when complete", async () => {
  const file = join(root, "ctr.jsonl");
  const onDisk: number[] = [];
  const source = await exportSource({
    pages: 6, recordsPerPage: 20, padBytes: 100,
    onPage: () => onDisk.push(existsSync(`${file}.partial`) ? readFileSync(`${file}.partial`, "utf8").split("\n").filter(Boolean).length : 0),
  });
  try {
    const archived = await archiveExport({ url: source.url, key: "k" }, "ctr_1", file);
    expect(archived.records).toBe(120);
    expect(onDisk).toEqual([0, 1, 2, 3, 4, 5]);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(6);
    expect(existsSync(`${file}.partial`)).toBe(false);
  } finally {
    await source.close();
  }
});

it("a source that fails midway leaves only a .partial; the next run writes the archive whole", async () => {
  const file = join(root, "cut.jsonl");
  const failing = await exportSource({ pages: 4, recordsPerPage: 5, padBytes: 10, failAt: 2 });
  try {
    await expect(archiveExport({ url: failing.url, key: "k" }, "ctr_1", file)).rejects.toThrow(CoreExit);
    expect([existsSync(file), statSync(`${file}.partial`).size > 0]).toEqual([false, true]);
  } finally {
    await failing.close();
  }
  const source = await exportSource({ pages: 4, recordsPerPage: 5, padBytes: 10 });
  try {
    expect((await archiveExport({ url: source.url, key: "k" }, "ctr_1", file)).records).toBe(20);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(4);
  } finally {
    await source.close();
  }
});
