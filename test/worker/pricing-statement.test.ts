// Statements and late records at the edge (DESIGN.md §5 late records, §7): a closed period's
// statement is frozen and never changes; a record that arrives after the close becomes an
// adjustment in the open period, as the pure computation says; CSV carries the JSON's lines and
// total; every line traces to its records. (Usage history: usage-history.test.ts.)
import { describe, it, expect } from "vitest";
import { computeStatement } from "../../shared/pricing/index.ts";
import { call, ok } from "./edge-fixture.ts";
import { appendUsage, grant, HOUR, NOW, planOf, PRICE, pricedContract, pureInput, pureStatement, send, statementOf, type PricedContract, type Site } from "./pricing-fixture.ts";

const OCT_20 = Date.UTC(2026, 9, 20, 12);

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(field); field = ""; } else if (ch === "\r" && text[i + 1] === "\n") { row.push(field); rows.push(row); row = []; field = ""; i++; } else field += ch;
  }
  return rows;
}

/** October (closed at Nov 1 + 24 h) got one on-time record (seq 1); seq 2 is October's too but arrives
 * on Nov 27, late; seqs 3 and 4 are November's. */
async function lateRecordContract(): Promise<{ c: PricedContract; octBefore: string }> {
  const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { start: "2026-10-01", grace_h: 24, now: OCT_20 });
  const site = c.sites[0]!;
  appendUsage(site, { session: "on-time", start: Date.UTC(2026, 9, 19, 8), end: Date.UTC(2026, 9, 19, 14), count: 3 }, OCT_20);
  await send(c, site, OCT_20);
  const octBefore = await (await statementOf(c, "2026-10-01")).text();
  appendUsage(site, { session: "late", start: Date.UTC(2026, 9, 25, 8), end: Date.UTC(2026, 9, 25, 12) }, NOW);
  appendUsage(site, { session: "november", feature: "Simulink", start: NOW - 3 * HOUR, end: NOW - HOUR }, NOW);
  appendUsage(site, { session: "november-2", start: NOW - 3 * HOUR, end: NOW - 2 * HOUR }, NOW);
  await send(c, site, NOW);
  return { c, octBefore };
}

describe("closed periods and late records", () => {
  it("a record for a closed period becomes an adjustment in the open period; the closed statement never changes", async () => {
    const { c, octBefore } = await lateRecordContract();
    const frozenOct = { ...computeStatement(pureInput(c), "2026-10-01"), state: "closed" as const };
    expect(JSON.parse(octBefore)).toEqual({ ...pureStatement(c, "2026-10-01"), state: "closed" });
    expect(await (await statementOf(c, "2026-10-01")).text()).toBe(octBefore);

    const nov = await ok(await statementOf(c));
    expect(nov).toEqual(pureStatement(c, "2026-11-01", [frozenOct]));
    expect(nov.state).toBe("open");
    const adjustments = nov.lines.filter((l: any) => l.kind === "adjustment");
    expect(adjustments.map((l: any) => ({ ref_period: l.ref_period, quantity: l.quantity, amount: l.amount })))
      // October had 18 units on time (6 h × 3): the late 4 units fall in tier 2 at 0.30.
      .toEqual([{ ref_period: "2026-10-01", quantity: "4", amount: "1.20" }]);
    expect((await ok(await statementOf(c, "2026-10-01"))).lines.some((l: any) => l.kind === "adjustment")).toBe(false);
  });

  it("a date on which no period starts is a 422 naming query.period; a period not yet started is a 404", async () => {
    const { c } = await lateRecordContract();
    const bad = await statementOf(c, "2026-10-02");
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.period" } });
    expect((await statementOf(c, "2026-12-01")).status).toBe(404);
  });

  it("the CSV statement has the JSON's lines, RFC 4180 quoting and a total row equal to the JSON total", async () => {
    const { c } = await lateRecordContract();
    const json = await ok(await statementOf(c));
    const res = await statementOf(c, undefined, NOW, "text/csv");
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual(["id", "kind", "description", "feature", "tier", "quantity", "unit_price", "amount", "ref_period"]);
    const lines = rows.slice(1, -1);
    expect(lines.map((r) => [r[0], r[2], r[5], r[7]])).toEqual(json.lines.map((l: any) => [l.id, l.description, l.quantity, l.amount]));
    const total = rows[rows.length - 1]!;
    expect({ id: total[0], amount: total[7] }).toEqual({ id: "total", amount: json.total });
    const cents = lines.reduce((s, r) => s + Math.round(Number(r[7]) * 100), 0);
    expect((cents / 100).toFixed(2)).toBe(json.total);
    expect(json.lines.some((l: any) => l.description.includes(":"))).toBe(true);
  });
});

describe("tracing a line to its records", () => {
  it("each line lists the runs of records it came from, paged; an adjustment lists the late record only", async () => {
    const { c } = await lateRecordContract();
    const site = c.sites[0]!;
    const tracing = (line: string, query = "") => call("GET", `/v1/contracts/${c.id}/statement/lines/${encodeURIComponent(line)}/records${query}`, { token: c.vendor.api_key });
    const nov = await ok(await statementOf(c));
    const adjustment = nov.lines.find((l: any) => l.kind === "adjustment");
    expect(await ok(await tracing(adjustment.id))).toEqual({ items: [{ collector_id: site.id, first_seq: 2, last_seq: 2 }], next_cursor: null });
    const octTier = (await ok(await statementOf(c, "2026-10-01"))).lines.find((l: any) => l.kind === "tier");
    expect(await ok(await tracing(octTier.id, "?period=2026-10-01&limit=1"))).toEqual({ items: [{ collector_id: site.id, first_seq: 1, last_seq: 1 }], next_cursor: null });
    // November's own tier line: its two November records (the late October one is in the adjustment), one run.
    const novTier = nov.lines.find((l: any) => l.kind === "tier" && l.id.startsWith("tier:"));
    expect(await ok(await tracing(novTier.id))).toEqual({ items: [{ collector_id: site.id, first_seq: 3, last_seq: 4 }], next_cursor: null });
    expect((await tracing("tier:nope")).status).toBe(404);
    const bad = await tracing(novTier.id, "?cursor=bm9wZQ");
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
  });

  it("a line's cursor pages that line of that contract only: the same line of another contract refuses it", async () => {
    const contracts = [];
    for (let k = 0; k < 2; k++) {
      const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { sites: 2 });
      const [a, b] = c.sites as [Site, Site];
      for (let h = 0; h < 4; h++) appendUsage(h % 2 === 0 ? a : b, { session: `s${h}`, start: Date.UTC(2026, 10, 2, h), end: Date.UTC(2026, 10, 2, h + 1) });
      await send(c, b); await send(c, a);
      contracts.push(c);
    }
    const [c1, c2] = contracts as [PricedContract, PricedContract];
    const tracing = (c: PricedContract, line: string, query = "") => call("GET", `/v1/contracts/${c.id}/statement/lines/${encodeURIComponent(line)}/records${query}`, { token: c.vendor.api_key });
    const tier = (await ok(await statementOf(c1))).lines.find((l: any) => l.kind === "tier");
    expect((await ok(await statementOf(c2))).lines.map((l: any) => l.id)).toContain(tier.id);
    const cursor = (await ok(await tracing(c1, tier.id, "?limit=1"))).next_cursor;
    expect(cursor).not.toBeNull();
    const foreign = await tracing(c2, tier.id, `?cursor=${cursor}`);
    expect({ status: foreign.status, body: await foreign.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
  });

  it("records of two sites interleaved in time make runs per site, paged with a cursor; the overage after a grant names only its records", async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" }, rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 } }), { sites: 2 });
    await grant(c, { amount: "5", idempotency_key: "g" });
    const [a, b] = c.sites as [Site, Site];
    // One hour each, alternating sites hour by hour from 2 Nov 00:00: a1 b1 a2 b2 a3 b3 a4 b4.
    for (let h = 0; h < 8; h++) appendUsage(h % 2 === 0 ? a : b, { session: `s${h}`, start: Date.UTC(2026, 10, 2, h), end: Date.UTC(2026, 10, 2, h + 1) });
    await send(c, b); await send(c, a);
    const s = await ok(await statementOf(c));
    const overage = s.lines.find((l: any) => l.kind === "overage");
    expect(overage.quantity).toBe("3");
    const tracing = (line: string, query = "") => call("GET", `/v1/contracts/${c.id}/statement/lines/${encodeURIComponent(line)}/records${query}`, { token: c.vendor.api_key });
    const grantLine = s.lines.find((l: any) => l.id.startsWith("grant:"));
    const pages: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await ok(await tracing(grantLine.id, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`));
      pages.push(page.items);
      cursor = page.next_cursor;
    } while (cursor);
    // The grant took the first five hours in time order: a1 b1 a2 b2 a3; the overage the last three.
    expect(pages).toEqual([
      [{ collector_id: a.id, first_seq: 1, last_seq: 1 }, { collector_id: b.id, first_seq: 1, last_seq: 1 }],
      [{ collector_id: a.id, first_seq: 2, last_seq: 2 }, { collector_id: b.id, first_seq: 2, last_seq: 2 }],
      [{ collector_id: a.id, first_seq: 3, last_seq: 3 }],
    ]);
    expect((await ok(await tracing(overage.id))).items).toEqual([
      { collector_id: b.id, first_seq: 3, last_seq: 3 }, { collector_id: a.id, first_seq: 4, last_seq: 4 }, { collector_id: b.id, first_seq: 4, last_seq: 4 },
    ]);
    // A cursor pages its own line only: the grant line's on the overage line would answer other runs.
    const grantCursor = (await ok(await tracing(grantLine.id, "?limit=2"))).next_cursor;
    const foreign = await tracing(overage.id, `?cursor=${grantCursor}`);
    expect({ status: foreign.status, body: await foreign.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
  });
});
