// The demo's history is simulated from the real clock (`npm start` seeds the 60 days before now), so
// its story must hold whatever the date: demo-history.test.ts checks it through a real edge on the
// day it runs; this checks the simulation itself, with the same measures, on 122 dates six days
// apart over two years (every weekday, both DST changes) at two times of day. (A growing feature
// whose growth was a coin flip on the date made CI red on 2026-12-04.)
import { describe, expect, it } from "vitest";
import { acmeSite, HISTORY_DAYS } from "../../scripts/demo-seed.ts";
import { simulateUsage } from "../../scripts/demo-history.ts";
import { wallTimeAt } from "../../shared/time/zoned.ts";

const DAY = 86_400_000;
const TIMEZONE = "America/Chicago";

describe("the demo's simulated history, on any date", () => {
  it("has its busy weekdays, its growing feature, its two heavy users and some denials", () => {
    const failures: string[] = [];
    const first = Date.UTC(2026, 0, 1, 0, 16);
    for (let d = 0; d < 122; d++) {
      for (const hour of [0, 17]) {
        const seededAt = first + d * 6 * DAY + hour * 3_600_000;
        const to = Math.floor((seededAt - 120_000) / 1000) * 1000; // as seedDemo takes its history
        const { sessions, denials } = simulateUsage(acmeSite(TIMEZONE), to - HISTORY_DAYS * DAY, to);
        const early = new Map<string, number>(), late = new Map<string, number>(), byUser = new Map<string, number>(), byDay = new Map<number, number>();
        const add = <K>(m: Map<K, number>, k: K, v: number) => m.set(k, (m.get(k) ?? 0) + v);
        for (const s of sessions) {
          const w = wallTimeAt(s.start, TIMEZONE), day = Date.UTC(w.year, w.month - 1, w.day); // the local day, as the edge's `day`
          const seconds = ((s.end - s.start) / 1000) * s.count;
          if (day < seededAt - (HISTORY_DAYS - 21) * DAY) add(early, s.feature, seconds);
          if (day >= seededAt - 21 * DAY) add(late, s.feature, seconds);
          add(byUser, s.user, seconds);
          add(byDay, day, seconds);
        }
        const grew = (f: string) => (late.get(f) ?? 0) / (early.get(f) ?? 0);
        const users = [...byUser].sort((a, b) => b[1] - a[1]);
        const isWeekend = (day: number) => [0, 6].includes(new Date(day).getUTCDay());
        const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
        const weekday = mean([...byDay].filter(([day]) => !isWeekend(day)).map(([, v]) => v));
        const weekend = mean([...byDay].filter(([day]) => isWeekend(day)).map(([, v]) => v));
        const at = new Date(seededAt).toISOString();
        if (!(grew("Signal_Toolbox") > 3)) failures.push(`${at}: Signal_Toolbox grew ×${grew("Signal_Toolbox").toFixed(2)}`);
        if (!(grew("MATLAB") < 2)) failures.push(`${at}: MATLAB grew ×${grew("MATLAB").toFixed(2)}`);
        if (users.slice(0, 2).map(([u]) => u).sort().join() !== "Marta Rodriguez,li.wei" || !(users[1]![1] > 2 * users[2]![1])) failures.push(`${at}: users ${JSON.stringify(users.slice(0, 3))}`);
        if (!(weekday > 4 * weekend)) failures.push(`${at}: weekday ${weekday} vs weekend ${weekend}`);
        if (denials.length === 0) failures.push(`${at}: no denials`);
      }
    }
    expect(failures).toEqual([]);
  });
});
