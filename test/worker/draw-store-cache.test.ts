// The draw store's caches (worker/contract/sql-draw-store.ts: each key's last use and draw, each
// session's use) and its pending puts never change an answer. Inside workerd on a real DO's
// SQLite: random writes — uses put, moved and deleted, draws put and deleted, sessions created,
// checkouts of new sessions (their keys given ids without a statement), transactions rolled back —
// and after each, random questions asked of the caching store and of a fresh one that reads only
// SQL (no cache survives into it); every answer must be the same. Seeded, so a failure replays.
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { checkoutKey, type Draw, type Use } from "../../shared/pricing/index.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { PendingRows } from "../../worker/contract/pending-rows.ts";
import { SqlDraws } from "../../worker/contract/sql-draw-store.ts";
import { contractStub } from "./edge-fixture.ts";

const KEYS = ["window\u0000user\u0000ann", "window\u0000user\u0000bob", "checkout\u0000col_a:s9"];
const COLLECTORS = ["col_a", "col_b"];
const SEQS = 6;
const STEPS = 600;

describe("the draw store's caches", () => {
  for (const seed of [1, 2, 3]) {
    it(`answer as SQL alone does, whatever the order of writes (seed ${seed})`, async () => {
      const asked = await runInDurableObject(contractStub(`ct_draw_cache_${seed}`), (_instance, state) => {
        const sql = state.storage.sql;
        const rand = mulberry32(seed);
        const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
        // One session per record ref (a use's ref is its session's first record), with its rows.
        const sessions = new Map<string, { id: number; key: string }>();
        for (const collector of COLLECTORS) {
          const no = sql.exec<{ no: number }>("INSERT INTO rating_sources (collector_id) VALUES (?) RETURNING no", collector).one().no;
          for (let seq = 1; seq <= SEQS; seq++) {
            const id = sql.exec<{ id: number }>("INSERT INTO rating_sessions (source_no, name, rev) VALUES (?, ?, 0) RETURNING id", no, `s${seq}`).one().id;
            sessions.set(`${collector}:${seq}`, { id, key: `${collector}:s${seq}` });
          }
        }
        const refs = [...sessions.keys()];
        const start = () => Math.floor(rand() * 6) * 1000;
        const at = () => ({ start: start(), ref: rand() < 0.2 ? "" : pick(refs) });
        const useAt = (ref: string): Use => ({ session: sessions.get(ref)!.key, key: pick(KEYS), start: start(), ref, feature: "MATLAB", count: 1 + Math.floor(rand() * 3), received_at: 5000 });
        const drawAt = (key: string, s: number, ref: string): Draw => {
          const until = s + 1000 + Math.floor(rand() * 3) * 1000; // a draw's piece ends where its window does (draws.ts drawOf)
          return { key, until, piece: { ref, feature: "MATLAB", session: sessions.get(ref)!.key, period: 0, arrival: 0, segment: 0, start: s, end: until, license_ms: 0, billed_ms: 0, units: 7n, rated: true, draws: 1 } };
        };
        const sourceNo = (ref: string) => COLLECTORS.indexOf(ref.slice(0, ref.indexOf(":"))) + 1;

        // As the live store builds it (sql-live-store.ts): puts wait among pending rows, every statement flushes them first.
        const pending = new PendingRows();
        const flushing = { exec: (query: string, ...args: SqlStorageValue[]) => { pending.flush(sql); return sql.exec(query, ...args); } } as SqlStorage;
        const cached = new SqlDraws(flushing, pending);
        const stored: Draw[] = []; // draws written, to delete some again
        const checkouts: Array<{ id: number; key: string; at: { start: number; ref: string } }> = [];
        const askKeys = [...KEYS];
        let questions = 0;
        const write = () => {
          const r = rand();
          const ref = pick(refs), session = sessions.get(ref)!.id;
          if (r < 0.05) {
            // A window key never seen: created by an insert that numbers it (checkout keys are numbered here).
            const key = `window\u0000user\u0000x${askKeys.length}`;
            askKeys.push(key);
            if (cached.use(session)) cached.deleteUse(session);
            cached.putUse(session, { ...useAt(ref), key });
          } else if (r < 0.35) {
            // As the ledger does (use-windows.ts replaceUse): the session's use read first, deleted, the new one put.
            if (cached.use(session)) cached.deleteUse(session);
            cached.putUse(session, useAt(ref));
          } else if (r < 0.45) cached.deleteUse(session);
          else if (r < 0.5) cached.putUse(session, useAt(ref)); // over a use not deleted first
          else if (r < 0.8) {
            const d = drawAt(pick(KEYS), start(), ref);
            cached.putDraw(d, sourceNo(ref), session);
            stored.push(d);
          } else if (stored.length > 0) cached.deleteDraw(stored.splice(Math.floor(rand() * stored.length), 1)[0]!);
        };
        for (let step = 0; step < STEPS; step++) {
          const r = rand();
          if (r < 0.05) {
            // A rolled-back transaction: its writes are gone, and the store is reset as billing.reset() does.
            // The DO flushes before every commit, so nothing is pending when a transaction starts.
            pending.flush(sql);
            try {
              state.storage.transactionSync(() => { for (let k = 0; k < 3; k++) write(); throw new Error("rolled back"); });
            } catch { cached.reset(); pending.clear(); }
          } else if (r < 0.12) {
            // A session created: it has no use (sql-sessions.ts tells the store); most are checkouts,
            // whose key is new with the session (its id given without a statement), and a draw there.
            const id = sql.exec<{ id: number }>("INSERT INTO rating_sessions (source_no, name, rev) VALUES (1, ?, 0) RETURNING id", `new${step}`).one().id;
            cached.created(id);
            expect(cached.use(id)).toBeUndefined();
            const session = `col_a:new${step}`, ref = `col_a:${100 + step}`;
            if (rand() < 0.25) {
              // A new session whose use is a window: its key is one other sessions share (after a
              // rollback, not in the store's memory any more), so it must not be taken for a new one.
              const use: Use = { session, key: pick(askKeys), start: start(), ref, feature: "MATLAB", count: 1, received_at: 5000 };
              cached.putUse(id, use);
            } else {
              const key = checkoutKey(session);
              const use: Use = { session, key, start: start(), ref, feature: "Compiler", count: 1, received_at: 5000 };
              cached.putUse(id, use);
              if (rand() < 0.8) cached.putDraw({ key, until: use.start, piece: { ref, feature: "Compiler", session, period: 0, arrival: 0, segment: 0, start: use.start, end: use.start, license_ms: 0, billed_ms: 0, units: 2n, rated: true, draws: 1 } }, 1, id);
              checkouts.push({ id, key, at: { start: use.start, ref } });
            }
          } else if (r < 0.14 && checkouts.length > 0) {
            const c = checkouts[Math.floor(rand() * checkouts.length)]!;
            cached.deleteUse(c.id);
          } else write();
          const fresh = new SqlDraws(flushing, new PendingRows());
          for (let q = 0; q < 4; q++) {
            const checkout = checkouts.length > 0 && rand() < 0.25 ? pick(checkouts) : undefined;
            const key = checkout?.key ?? pick(askKeys), where = checkout && rand() < 0.5 ? checkout.at : at(), inclusive = rand() < 0.5;
            expect(cached.nextUse(key, where, inclusive)).toEqual(fresh.nextUse(key, where, inclusive));
            expect(cached.nextDraw(key, where, inclusive)).toEqual(fresh.nextDraw(key, where, inclusive));
            expect(cached.prevDraw(key, where)).toEqual(fresh.prevDraw(key, where));
            const session = sessions.get(pick(refs))!.id;
            expect(cached.use(session)).toEqual(fresh.use(session));
            questions += 4;
          }
        }
        pending.flush(sql);
        // Every checkout key given its id here is stored once, under that id.
        for (const c of checkouts) expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM draw_keys WHERE key = ?", c.key).one().n).toBe(1);
        return { checkouts: checkouts.length, questions, uses: sql.exec<{ n: number }>("SELECT count(*) AS n FROM draw_uses").one().n, draws: sql.exec<{ n: number }>("SELECT count(*) AS n FROM draws").one().n };
      });
      // The run reached a store with uses and draws in every key's middle, not an empty one.
      expect(asked.questions).toBe(STEPS * 16);
      expect(asked.uses).toBeGreaterThan(3);
      expect(asked.draws).toBeGreaterThan(10);
      expect(asked.checkouts).toBeGreaterThan(10);
    });
  }
});
