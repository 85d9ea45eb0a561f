// Guarantee 3, part 1: tampering with a signed chain is detected, with its stable code, and
// leaves no trace in the balance, the ContractDO or D1 (DESIGN.md §4 tamper list). Each kind is
// tried at TAMPER_POSITIONS random positions (100; 1,000 with SOAK=1) against the real edge over
// HTTP; the forger has everything but the private key, and randomly covers the alteration up
// (renumbered seqs, re-linked prev hashes, checkpoint re-pointed at the new last record).
// Re-encoded JSON that hashes the same must be ACCEPTED as the same records.
import { afterAll, describe, it, expect } from "vitest";
import { hashCanonical, type ChainRecord } from "../../../shared/protocol/index.ts";
import { call, ok, postBatch } from "../edge-fixture.ts";
import { between, budget, pick, runSeed, seededRandom } from "./budget.ts";
import { editRecord, fabricatedRecord, malformedText, MALFORMED_ENCODINGS, rechain, reencode, resequence, withRecords } from "./batch-tamper.ts";
import { attempt, Baseline, CHAIN_LENGTH, expectAllDetected, newTally, RECEIPTED, receiptedSite, summaryTable, window, type KindTally } from "./tamper-harness.ts";

const POSITIONS = budget(100, 1000);
const SEED = runSeed("tamper-chain");
const tallies: KindTally[] = [];
const TIMEOUT = { timeout: 600_000 };

afterAll(() => console.log(`[tamper] Guarantee 3 (chain), SEED=${SEED}\n${summaryTable(tallies)}`));

describe("a tampered chain is refused with its code and changes nothing", () => {
  it("an edited field: prev_mismatch or bad_signature", TIMEOUT, async () => {
    const random = seededRandom(SEED + 1);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("edit"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const [a, b] = window(random, RECEIPTED, CHAIN_LENGTH);
      const p = between(random, a, b);
      const genuine = site.chain.batch(a, b);
      const { record, field } = editRecord(genuine.records[p - a]!, random);
      let records = genuine.records.map((r, i) => (i === p - a ? record : r));
      const coverUp = random() < 0.5;
      if (coverUp) records = rechain(records, p - a + 1);
      await attempt(tally, baseline, `edit ${field} of seq ${p} in [${a},${b}]${coverUp ? " re-chained" : ""}`,
        () => postBatch(site.collectorId, withRecords(genuine, records)), ["prev_mismatch", "bad_signature", "equivocation"]);
    }
    expectAllDetected(tally);
  });

  it("a deleted record: gap, prev_mismatch, bad_signature (or malformed seqs)", TIMEOUT, async () => {
    const random = seededRandom(SEED + 2);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("delete"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const [a, b] = window(random, RECEIPTED, CHAIN_LENGTH, 2);
      // Dropping the first or last records of a window leaves a genuine shorter window (nothing
      // is missing from the chain; below the hwm it is a plain replay). So the deleted record is
      // inside the window, or its first at hwm + 1 (a gap), or its last above the hwm (the
      // checkpoint no longer matches what was signed).
      const lo = a === RECEIPTED + 1 ? a : a + 1;
      const hi = b - 1 > RECEIPTED ? b : b - 1;
      if (lo > hi) { n--; continue; }
      const p = between(random, lo, hi);
      const genuine = site.chain.batch(a, b);
      let records = genuine.records.filter((r) => r.seq !== p);
      const renumber = random() < 0.5;
      if (renumber) records = resequence(records, a);
      await attempt(tally, baseline, `delete seq ${p} of [${a},${b}]${renumber ? " renumbered" : ""}`,
        () => postBatch(site.collectorId, withRecords(genuine, records)), ["gap", "prev_mismatch", "bad_signature", "malformed"]);
    }
    expectAllDetected(tally);
  });

  it("swapped records: prev_mismatch or bad_signature (or malformed seqs)", TIMEOUT, async () => {
    const random = seededRandom(SEED + 3);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("swap"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const [a, b] = window(random, RECEIPTED, CHAIN_LENGTH, 2);
      const p = between(random, a, b - 1);
      const q = between(random, p + 1, b);
      const genuine = site.chain.batch(a, b);
      // Two records with the same content (the site may log identical heartbeats or intervals)
      // swap into the very same batch: that is no tampering at all, so draw another pair.
      const content = (r: ChainRecord) => JSON.stringify({ ...r, seq: 0, prev: "" });
      if (content(genuine.records[p - a]!) === content(genuine.records[q - a]!)) { n--; continue; }
      let records = [...genuine.records];
      [records[p - a], records[q - a]] = [records[q - a]!, records[p - a]!];
      const coverUp = pick(random, ["none", "renumber", "renumber+rechain"] as const);
      if (coverUp !== "none") records = resequence(records, a);
      if (coverUp === "renumber+rechain") records = rechain(records);
      await attempt(tally, baseline, `swap seq ${p}↔${q} of [${a},${b}] ${coverUp}`,
        () => postBatch(site.collectorId, withRecords(genuine, records)), ["prev_mismatch", "bad_signature", "malformed"]);
    }
    expectAllDetected(tally);
  });

  it("an inserted record: prev_mismatch or bad_signature", TIMEOUT, async () => {
    const random = seededRandom(SEED + 4);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("insert"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const [a, b] = window(random, RECEIPTED, CHAIN_LENGTH);
      const p = between(random, a, b + 1); // the forged record takes seq p; the rest move up
      const genuine = site.chain.batch(a, b);
      const before = genuine.records.filter((r) => r.seq < p);
      const prevHash = p === 1 ? "0".repeat(64) : hashCanonical(site.chain.records[p - 2]!);
      const forged = fabricatedRecord(site.collectorId, p, prevHash, random);
      let records = resequence([...before, forged, ...genuine.records.filter((r) => r.seq >= p)], a);
      const coverUp = random() < 0.5;
      if (coverUp) records = rechain(records, p - a + 1);
      await attempt(tally, baseline, `insert at seq ${p} of [${a},${b}]${coverUp ? " re-chained" : ""}`,
        () => postBatch(site.collectorId, withRecords(genuine, records)), ["prev_mismatch", "bad_signature"]);
    }
    expectAllDetected(tally);
  });

  it("a replayed batch answers the current receipt, byte for byte, and changes nothing", TIMEOUT, async () => {
    const random = seededRandom(SEED + 5);
    const site = await receiptedSite();
    const current = await ok(await postBatch(site.collectorId, site.chain.batch(1, RECEIPTED), { now: Date.UTC(2026, 10, 27, 11) }));
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("replay"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const a = between(random, 1, RECEIPTED);
      const end = between(random, a, RECEIPTED);
      const resend = random() < 0.5 ? site.chain.batch(a, end) : reencode(site.chain.batch(a, end), random);
      const { status, body } = await attempt(tally, baseline, `replay [${a},${end}]`, () => typeof resend === "string"
        ? call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw: resend, now: Date.UTC(2026, 10, 28) })
        : postBatch(site.collectorId, resend, { now: Date.UTC(2026, 10, 28) }), ["200 (replay receipt)"]);
      if (status === 200) expect(body).toEqual(current);
    }
    expectAllDetected(tally);
  });

  it("re-encoded JSON (key order, whitespace, \\u escapes) is ACCEPTED as the same records", TIMEOUT, async () => {
    const random = seededRandom(SEED + 6);
    const site = await receiptedSite();
    let hwm = RECEIPTED;
    const tally = newTally("re-encoded JSON (accepted)"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const count = between(random, 1, 3);
      for (let i = 0; i < count; i++) site.chain.usage({ user: pick(random, ["zoë", "ада", "李雷", "o'brien/ops", "tab\there"]), host: `ws-${n}` });
      const batch = site.chain.batch(hwm + 1, site.chain.records.length);
      tally.tried++;
      const res = await call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw: reencode(batch, random) });
      const body = await res.json() as any;
      const last = site.chain.records[site.chain.records.length - 1]!;
      if (res.status === 200 && body.receipt.acked_seq === last.seq && body.receipt.head === hashCanonical(last)) {
        // The canonical encoding is then a replay of the same records.
        const again = await ok(await postBatch(site.collectorId, batch));
        if (JSON.stringify(again) === JSON.stringify(body)) { tally.detected++; tally.codes["200, same hash"] = (tally.codes["200, same hash"] ?? 0) + 1; }
        else tally.failures.push(`canonical resend of [${hwm + 1},${last.seq}] answered ${JSON.stringify(again)}`);
      } else tally.failures.push(`re-encoded [${hwm + 1},${last.seq}]: ${res.status} ${JSON.stringify(body).slice(0, 160)}`);
      hwm = last.seq;
    }
    expectAllDetected(tally);
  });

  it("floats, unsafe integers, -0 and duplicate keys are malformed, even when signed", TIMEOUT, async () => {
    const random = seededRandom(SEED + 7);
    const site = await receiptedSite();
    const baseline = await Baseline.take({ sites: [site] });
    const tally = newTally("non-canonical numbers / duplicate keys"); tallies.push(tally);
    for (let n = 0; n < POSITIONS; n++) {
      const b = between(random, RECEIPTED + 1, CHAIN_LENGTH);
      const batch = site.chain.batch(RECEIPTED + 1, b);
      const index = between(random, 0, batch.records.length - 1);
      const encoding = pick(random, MALFORMED_ENCODINGS);
      const text = malformedText(batch, index, encoding, random);
      await attempt(tally, baseline, `${encoding} in seq ${RECEIPTED + 1 + index}`,
        () => call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw: text }), ["malformed"]);
    }
    expectAllDetected(tally);
  });
});
