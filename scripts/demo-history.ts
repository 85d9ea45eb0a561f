// Simulated license-server history for `npm start`'s demo: the sessions a site's users would
// have checked out over past weeks, with the rhythm a vendor knows — busy weekdays, quiet
// weekends, office hours in the site's time zone, a few heavy users, one feature whose use grows
// — and the FlexLM debug log those sessions make (the collector reads it like any lmgrd log).
// Deterministic for a seed; pure apart from the clock values passed in.
import { mulberry32 } from "../shared/random/mulberry32.ts";
import { wholeSecond } from "../shared/time/whole-second.ts";
import { wallTimeAt, wallTimeToUtc } from "../shared/time/zoned.ts";
import { banner, flexlmDate, flexlmLine } from "./flexlm-simulator.ts";

export interface FeatureProfile {
  name: string;
  /** Licenses the server has: a checkout beyond them is DENIED. */
  seats: number;
  /** Relative demand at the start of the history and at its end; in between it moves with the square
   *  of the progress, so a growing feature takes off late and its growth shows whatever the date. */
  weight: [number, number];
}

export interface SiteProfile {
  timezone: string;
  daemon: string;
  features: FeatureProfile[];
  users: string[];
  /** Users with several times everyone else's sessions. */
  heavyUsers: string[];
  /** Sessions an ordinary user starts on an ordinary weekday. */
  sessionsPerWeekday: number;
  seed: number;
}

export interface Session { feature: string; user: string; host: string; count: number; start: number; end: number }
export interface Denial { feature: string; user: string; host: string; at: number }

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Sunday … Saturday. */
const DAY_FACTOR = [0.08, 1, 1, 1, 1, 0.85, 0.12];

/** Sessions (and denials) that start in [from, to) and end by `to`, in start order. */
export function simulateUsage(site: SiteProfile, from: number, to: number): { sessions: Session[]; denials: Denial[] } {
  const random = mulberry32(site.seed);
  const wanted: Session[] = [];
  for (let day = localMidnight(from, site.timezone); day < to; day = localMidnight(day + 36 * HOUR, site.timezone)) {
    const w = wallTimeAt(day, site.timezone);
    const dayFactor = DAY_FACTOR[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()]!;
    const progress = Math.min(1, Math.max(0, (day - from) / Math.max(DAY, to - from)));
    for (const [u, user] of site.users.entries()) {
      const rate = site.sessionsPerWeekday * dayFactor * (site.heavyUsers.includes(user) ? 3.5 : 1);
      for (let n = poisson(rate, random); n > 0; n--) {
        // Office hours: mostly 08:00–18:00 local, a tail into the evening.
        const hourOfDay = 8 + Math.min(13.5, -Math.log(1 - random()) * 2.2 + random() * 6);
        const start = day + wholeSecond(hourOfDay * HOUR);
        const minutes = 10 + Math.floor(-Math.log(1 - random()) * 70);
        const feature = pickFeature(site.features, progress, random);
        const host = `ws-${String(1 + ((u * 7 + Math.floor(random() * 2)) % 40)).padStart(2, "0")}`;
        const count = random() < 0.08 ? 2 : 1;
        if (start >= from && start + minutes * 60_000 <= to) wanted.push({ feature, user, host, count, start, end: start + minutes * 60_000 });
      }
    }
  }
  wanted.sort((a, b) => a.start - b.start);
  // The server grants a checkout only while seats are free.
  const sessions: Session[] = [];
  const denials: Denial[] = [];
  const open = new Map<string, Session[]>();
  for (const s of wanted) {
    const seats = site.features.find((f) => f.name === s.feature)!.seats;
    const held = (open.get(s.feature) ?? []).filter((o) => o.end > s.start);
    if (held.reduce((n, o) => n + o.count, 0) + s.count > seats) {
      denials.push({ feature: s.feature, user: s.user, host: s.host, at: s.start });
      open.set(s.feature, held);
      continue;
    }
    open.set(s.feature, [...held, s]);
    sessions.push(s);
  }
  return { sessions, denials };
}

/** The lmgrd debug log of these sessions over [from, to): banner at `from`, TIMESTAMP lines at each local midnight and every 6 h. */
export function flexlmHistoryLog(site: SiteProfile, from: number, to: number, sessions: Session[], denials: Denial[]): string {
  type Line = { at: number; order: number; text: string };
  const lines: Line[] = [];
  const d = site.daemon;
  for (const s of sessions) {
    const licenses = s.count > 1 ? `  (${s.count} licenses)` : "";
    lines.push({ at: s.start, order: 1, text: `OUT: "${s.feature}" ${s.user}@${s.host}${licenses}  ` });
    lines.push({ at: s.end, order: 0, text: `IN: "${s.feature}" ${s.user}@${s.host}${licenses}  ` });
  }
  for (const x of denials) lines.push({ at: x.at, order: 2, text: `DENIED: "${x.feature}" ${x.user}@${x.host}  (Licensed number of users already reached. (-4,342))` });
  for (let t = localMidnight(from, site.timezone); t < to; t = localMidnight(t + 36 * HOUR, site.timezone)) {
    for (let k = 0; k < 4; k++) if (t + k * 6 * HOUR > from && t + k * 6 * HOUR < to) lines.push({ at: t + k * 6 * HOUR, order: -1, text: `TIMESTAMP ${flexlmDate(t + k * 6 * HOUR, site.timezone)}` });
  }
  lines.sort((a, b) => a.at - b.at || a.order - b.order);
  return banner(from, site.timezone, d, site.features.map((f) => f.name))
    + lines.map((l) => flexlmLine(l.at, site.timezone, d, l.text)).join("");
}

/** License-seconds per feature of the sessions' parts inside [from, to). */
export function licenseSeconds(sessions: Session[], from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of sessions) {
    const ms = Math.max(0, Math.min(s.end, to) - Math.max(s.start, from)) * s.count;
    if (ms > 0) out.set(s.feature, (out.get(s.feature) ?? 0) + ms / 1000);
  }
  return out;
}

function localMidnight(t: number, zone: string): number {
  const w = wallTimeAt(t, zone);
  return wallTimeToUtc({ year: w.year, month: w.month, day: w.day, hour: 0, minute: 0, second: 0 }, zone);
}

function pickFeature(features: FeatureProfile[], progress: number, random: () => number): string {
  const weights = features.map((f) => f.weight[0] + (f.weight[1] - f.weight[0]) * progress * progress);
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (const [i, f] of features.entries()) if ((r -= weights[i]!) < 0) return f.name;
  return features[features.length - 1]!.name;
}

function poisson(mean: number, random: () => number): number {
  let n = 0;
  for (let p = Math.exp(-mean), acc = random(); acc > p; acc *= random()) n++;
  return n;
}
