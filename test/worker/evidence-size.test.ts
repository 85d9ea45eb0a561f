// Cloudflare stores no value over 2 MB in a Durable Object's SQLite (local workerd does not
// enforce it, so the test reads the DO's tables): a fork sent in a large batch — a site restored
// from a VM snapshot re-sends its backlog in batches of up to 4 MiB — is kept as evidence in
// parts, and reads back whole.
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { evidenceBatch } from "../../worker/contract/evidence.ts";
import { contractStub, enrolledSite, ok, postBatch } from "./edge-fixture.ts";
import { largestValue } from "./stored-size.ts";

describe("equivocation evidence at the production value limit", () => {
  it("a fork in a 2.6 MB batch answers 409 equivocation, keeps the batch in parts under 1 MB each, and reads it back whole", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const fork = new (site.chain.constructor as any)(site.collectorId, site.keys.secretKey);
    // Unknown fields in `data` are hashed and kept: 2,000 records of ~1.3 KB (with non-BMP text,
    // so a part boundary may fall inside a surrogate pair).
    for (let i = 0; i < 2000; i++) fork.usage({ count: 5, note: `${i} ${"🧾 ledger ".repeat(100)}` });
    const batch = fork.batch(1, 2000);
    expect(new TextEncoder().encode(JSON.stringify(batch)).byteLength).toBeGreaterThan(2_200_000);
    const res = await postBatch(site.collectorId, batch);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "equivocation", seq: 1 });

    const kept = await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      const sql = state.storage.sql;
      const id = sql.exec<{ id: number }>("SELECT id FROM evidence").one().id;
      return { largest: largestValue(sql), batch: evidenceBatch(sql, id) };
    });
    expect(kept.largest.bytes).toBeLessThan(1024 * 1024);
    expect(kept.batch).toEqual(batch);
  });
});
