// The tracker's open sessions in the order they opened (open-sessions.ts LiveSessions): what a Set
// kept, through deletes anywhere, holes filled in, and sessions restored from a saved state.
import { describe, expect, it } from "vitest";
import { LiveSessions } from "../../../collector/sessions/open-sessions.ts";
import type { OpenSession } from "../../../collector/sessions/tracker-state.ts";
import { mulberry32 } from "../../../shared/random/mulberry32.ts";

const session = (n: number): OpenSession => ({ id: `s${n}`, key: `k${n % 7}`, daemon: "MLM", feature: "F", user: `u${n}`, host: "h", count: 1, start: n * 1000, emitted: n * 1000 });

describe("open sessions in open order", () => {
  it("iterates as a Set of the same adds and deletes would, through 20,000 random steps", () => {
    const rand = mulberry32(7);
    const live = new LiveSessions(), set = new Set<OpenSession>();
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      // Mostly adds early, mostly deletes late: the array fills, then empties into holes and is compacted.
      if (set.size === 0 || rand() < (step < 10_000 ? 0.6 : 0.35)) {
        const s = session(next++);
        live.add(s);
        set.add(s);
      } else {
        const victims = [...set];
        const s = victims[Math.floor(rand() * victims.length)]!;
        live.delete(s);
        set.delete(s);
      }
      if (step % 997 === 0) expect([...live]).toEqual([...set]);
    }
    expect([...live]).toEqual([...set]);
    expect(live.size).toBe(set.size);
  });

  it("a session deleted twice, or never added, changes nothing", () => {
    const live = new LiveSessions();
    const [a, b, c] = [session(1), session(2), session(3)];
    live.add(a);
    live.add(b);
    live.delete(a);
    live.delete(a);
    live.delete(c);
    expect([...live]).toEqual([b]);
    expect(live.size).toBe(1);
  });

  it("its bookkeeping stays out of a session's JSON and structured clone (the saved state)", () => {
    const live = new LiveSessions();
    const s = session(1);
    live.add(s);
    expect(JSON.parse(JSON.stringify(s))).toStrictEqual(session(1));
    expect(structuredClone(s)).toStrictEqual(session(1));
    // A session restored from a save is a new object: it joins at the end, as the Set did.
    const restored = JSON.parse(JSON.stringify(s)) as OpenSession;
    live.add(restored);
    expect([...live]).toEqual([s, restored]);
  });
});
