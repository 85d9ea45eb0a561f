// Test support: random FlexLM debug logs written from a known truth. A server runs in a time zone
// (DST both ways), logs OUT/IN/DENIED lines of users with spaces and UTF-8 in their names, token
// pools (`[POOL:PRODUCT]`), a forked `MLM_2` daemon, TIMESTAMP lines about every 6 h (none at
// midnight), restarts, clock steps back and silent nights; the log may start before its first date.
//
// The truth is what the collector must bill (FORMATS.md §2, log-calendar.ts): each line stands for
// the instant it was written, except that after the server clock is set back, time goes on from
// the latest line read before the step (the gap across it is not provable) until the next restart,
// where printed time is trusted again. A session ends at its IN; at a restart or the end of the log, at
// the latest its daemon was read at: a line may be read up to a minute before the one written
// before it (a clock set back by about the time between them), and the tracker bills up to the
// latest reading, not the last line's.
import { zoneOffsetMs } from "../../../shared/time/zoned.ts";

export interface TruthSession {
  daemon: string; feature: string; product?: string; user: string; host: string; count: number;
  start: number; end: number; final: boolean;
}
export interface TruthDenial { daemon: string; feature: string; user: string; host: string; at: number; reason: string }
export interface TruthLog {
  lines: string[]; sessions: TruthSession[]; denials: TruthDenial[]; zone: string;
  /** What the log went through (so a run of the property can show it covered each case). */
  steps: number; restarts: number; silences: number; dstChanges: number;
}

interface Open { daemon: string; feature: string; product?: string; user: string; host: string; count: number; start: number }

const HOLDERS = [
  { feature: "MATLAB", user: "ann", host: "pc1" },
  { feature: "MATLAB", user: "Marta Rodríguez", host: "DESKTOP-L00QHGH" },
  { feature: "SIMULINK", user: "José Juan Galera", host: "Plasmon" },
  { feature: "SIMULINK", user: "first.last", host: "ws-12.example.org" },
  { feature: "Statistics_Toolbox", user: "1", host: "GM-007028" },
];
const POOL_PRODUCTS = ["ODYSSEE_CAE", "ADAMS_View", "Nastran"];
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Instants (UTC ms) where the zone's offset changes in [from, to). */
export function transitions(zone: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += 6 * HOUR) {
    if (zoneOffsetMs(t, zone) === zoneOffsetMs(t + 6 * HOUR, zone)) continue;
    let lo = t, hi = t + 6 * HOUR; // the change lies in (lo, hi]
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
      if (zoneOffsetMs(mid, zone) === zoneOffsetMs(lo, zone)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

/** A log of about `n` lines starting at `start` (UTC ms, whole seconds), from the random numbers `rand`. */
export function truthLog(rand: () => number, zone: string, start: number, n: number, dst: number[]): TruthLog {
  const lines: string[] = [];
  const sessions: TruthSession[] = [];
  const denials: TruthDenial[] = [];
  const open: Open[] = [];
  const latestRead = new Map<string, number>();
  let t = start; // true time
  // clockOffset and lost when the last line was written: the clock may be set back twice between
  // two lines, and the collector sees one step, from the line before both to the line after them.
  let lastOffset = 0;
  let lastLost = 0;
  let lastExpected = start; // what the collector must read for the last line: never more than jitter back but at a restart
  let latestExpected = start; // the latest it read since the last restart: a step back goes on from there
  let clockOffset = 0; // true time − server clock
  let lost = 0; // true time − what the collector must read
  let nextStamp = start + Math.floor(rand() * 6 * HOUR);
  let pendingStep = 0;
  let unresolvedStep = false;
  let steps = 0, restarts = 0, silences = 0;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const nearDst = (at: number) => dst.some((d) => Math.abs(d - at) < 30 * HOUR);
  const expected = () => t - lost;
  const offsets = new Map<number, number>(); // zone offsets change only on quarter hours
  const offsetAt = (at: number) => {
    const q = Math.floor(at / 900_000);
    let o = offsets.get(q);
    if (o === undefined) offsets.set(q, (o = zoneOffsetMs(q * 900_000, zone)));
    return o;
  };
  const wall = (at: number) => {
    const local = new Date(at + offsetAt(at));
    return { y: local.getUTCFullYear(), mo: local.getUTCMonth() + 1, d: local.getUTCDate(), h: local.getUTCHours(), mi: local.getUTCMinutes(), s: local.getUTCSeconds() };
  };
  const emit = (daemon: string, message: string, vendor = daemon) => {
    const w = wall(t - clockOffset);
    const pad = (x: number) => String(x).padStart(2, "0");
    lines.push(`${String(w.h).padStart(2, rand() < 0.5 ? " " : "0")}:${pad(w.mi)}:${pad(w.s)} (${daemon}) ${message}`);
    if (expected() < lastExpected - MINUTE && !message.startsWith("FlexNet Licensing")) throw new Error(`truth runs backwards at line ${lines.length}`);
    lastOffset = clockOffset;
    lastLost = lost;
    lastExpected = expected();
    latestExpected = message.startsWith("FlexNet Licensing") ? lastExpected : Math.max(latestExpected, lastExpected);
    if (vendor !== "lmgrd") latestRead.set(vendor, Math.max(latestRead.get(vendor) ?? -Infinity, expected()));
  };
  const dateOf = () => { const w = wall(t - clockOffset); return `${w.mo}/${w.d}/${w.y}`; };
  const close = (i: number, end: number, final: boolean) => {
    const [s] = open.splice(i, 1);
    if (end > s!.start) sessions.push({ ...s!, end, final });
  };

  // A rotated log may start before any date: a few lines wait for the first TIMESTAMP.
  let dated = false;
  if (rand() < 0.5) {
    emit("MLM", `TIMESTAMP ${dateOf()}`);
    dated = true;
  }
  // A silent night is told from a clock set back only by the next date: the log goes on until it.
  let silence = false;
  while (lines.length < n || silence) {
    const r = rand();
    // Around a DST change lines come at least every 10 minutes: only their order tells the two passes of a repeated hour apart.
    let gap = nearDst(t) ? 1 + Math.floor(rand() * 600) : r < 0.7 ? 1 + Math.floor(rand() * 120) : r < 0.97 ? 121 + Math.floor(rand() * 1200) : 1200 + Math.floor(rand() * 7200);
    // One unexplained jump at a time: the next date can only say how many days passed in all.
    if (dated && !nearDst(t) && !unresolvedStep && !silence && rand() < 0.004) { // a silent night (no TIMESTAMP either), then a date soon
      gap = 9 * 3600 + Math.floor(rand() * 7 * 3600);
      nextStamp = t + gap * 1000 + (60 + Math.floor(rand() * 1800)) * 1000;
      silence = true;
      silences++;
    }
    t += gap * 1000;
    if (pendingStep > 0) { // the server clock was set back between the last line and this one
      clockOffset += pendingStep;
      const back = clockOffset - lastOffset; // set back since the last line, in all
      // Read as before the step, this line would come more than a minute before the latest line read
      // (not only the last: that one may be read up to a minute before it): the gap is not provable,
      // and time goes on from that latest reading.
      if (t - (lastLost + back) < latestExpected - MINUTE) {
        lost = t - latestExpected;
        unresolvedStep = true;
        steps++;
      } else lost = lastLost + back; // printed time still went forward, or back within a minute: nothing to see
      pendingStep = 0;
    }
    if (t >= nextStamp) {
      emit(rand() < 0.7 ? "MLM" : "lmgrd", `TIMESTAMP ${dateOf()}`);
      nextStamp = t + 6 * HOUR + Math.floor(rand() * 60) * 1000;
      unresolvedStep = false;
      silence = false;
      dated = true;
      continue;
    }
    const a = rand();
    if (a < 0.004 && !unresolvedStep && !silence) { // restart: open sessions end at their daemon's last line
      for (let i = open.length - 1; i >= 0; i--) close(i, latestRead.get(open[i]!.daemon) ?? open[i]!.start, true);
      lost = clockOffset; // printed time is trusted again
      restarts++;
      emit("lmgrd", `FlexNet Licensing (v11.18.0.0 build 1) started on lic01 (linux) (${dateOf()})`);
      latestRead.clear();
      dated = true;
    } else if (a < 0.008 && dated && !unresolvedStep && !silence && !nearDst(t)) {
      pendingStep = (2 * 60 + Math.floor(rand() * 5 * 3600)) * 1000; // set back by 2 min … 5 h
    } else if (a < 0.45 && open.length < 12) {
      const pool = rand() < 0.25;
      const h = pick(HOLDERS);
      const s: Open = pool
        ? { daemon: "MSC", feature: "MSCONE", product: pick(POOL_PRODUCTS), user: h.user, host: h.host, count: 1 + Math.floor(rand() * 8), start: expected() }
        : { daemon: "MLM", ...h, count: rand() < 0.2 ? 2 : 1, start: expected() };
      open.push(s);
      const fork = s.daemon === "MLM" && rand() < 0.2 ? "MLM_2" : s.daemon;
      emit(fork, `OUT: "${s.feature}" ${s.user}@${s.host}${s.product ? ` [${s.feature}:${s.product}]` : ""}${s.count > 1 ? `  (${s.count} licenses)` : ""}  `, s.daemon);
    } else if (a < 0.85 && open.length > 0) {
      const chosen = pick(open);
      // The collector pairs an IN with the earliest open session of the same holder and count.
      const key = (o: Open) => `${o.daemon}|${o.feature}|${o.product}|${o.user}|${o.host}`;
      const i = open.findIndex((o) => key(o) === key(chosen) && o.count === chosen.count);
      const s = open[i]!;
      emit(s.daemon, `IN: "${s.feature}" ${s.user}@${s.host}${s.product ? ` [${s.feature}:${s.product}]` : ""}${s.count > 1 ? `  (${s.count} licenses)` : ""}  `);
      close(i, expected(), true);
    } else if (a < 0.9) {
      const h = pick(HOLDERS);
      emit("MLM", `DENIED: "${h.feature}" ${h.user}@${h.host}  (Licensed number of users already reached. (-4,342))`);
      denials.push({ daemon: "MLM", ...h, at: expected(), reason: "Licensed number of users already reached. (-4,342)" });
    } else emit(pick(["MLM", "MSC"]), pick(["(@MLM-SLOG@) Statistics for the last 4 hours", "TCP_NODELAY NOT enabled", "Listener Thread: running"]));
  }
  for (let i = open.length - 1; i >= 0; i--) close(i, latestRead.get(open[i]!.daemon) ?? open[i]!.start, false);
  return { lines, sessions, denials, zone, steps, restarts, silences, dstChanges: dst.filter((d) => d > start && d < t).length };
}
