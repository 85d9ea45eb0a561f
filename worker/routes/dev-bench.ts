// POST /__dev/contracts/:id/baseline (refused in production): the edge-ingest benchmark's
// baseline — the same batch body over HTTP, but the DO only hashes and inserts the records.
// POST /__dev/contracts/:id/drain (refused in production): drains the contract's outbox into D1 now
// (edge-ingest holds the alarm's drain back with TALLY_DRAIN_DELAY_MS and times it apart).
// GET /__dev/contracts/:id/storage (refused in production): the DO's database size and row counts,
// for the contract-scale benchmark's bytes per record.
import { Hono } from "hono";
import type { ChainRecord } from "../../shared/protocol/index.ts";
import { allowsDevelopmentAids, type AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { contractStub } from "../contract/stub.ts";

export const devBench = new Hono<AppEnv>().post("/contracts/:id/baseline", async (c) => {
  if (!allowsDevelopmentAids(c.env)) throw new EdgeError("not_found", "no such route");
  const body = JSON.parse(await c.req.text()) as { records: ChainRecord[] };
  const inserted = await contractStub(c.env, c.req.param("id")).benchmarkInsert(body.records);
  return c.json({ inserted });
}).post("/contracts/:id/drain", async (c) => {
  if (!allowsDevelopmentAids(c.env)) throw new EdgeError("not_found", "no such route");
  return c.json({ remaining: await contractStub(c.env, c.req.param("id")).benchmarkDrain() });
}).get("/contracts/:id/storage", async (c) => {
  if (!allowsDevelopmentAids(c.env)) throw new EdgeError("not_found", "no such route");
  return c.json(await contractStub(c.env, c.req.param("id")).benchmarkStorage(c.req.query("full") === "1"));
});
