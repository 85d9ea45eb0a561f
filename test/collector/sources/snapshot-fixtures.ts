// Test support for the snapshot sources: where the fixtures are, and what a result derives.
import { readFileSync } from "node:fs";
import type { Holder, SnapshotResult } from "../../../collector/sources/events.ts";
import { sharedFixtures, syntheticFixtures } from "./fixture-paths.ts";

/** The team's real samples, copied into test/fixtures/<format>/ (provenance: SOURCES.md there). */
export const SHARED_FIXTURES = sharedFixtures;
/** Synthetic samples written for this project (test/fixtures/snapshot-*). */
export const LOCAL_FIXTURES = syntheticFixtures;

export function shared(path: string): string {
  return readFileSync(SHARED_FIXTURES + path, "utf8");
}

export function local(path: string): string {
  return readFileSync(LOCAL_FIXTURES + path, "utf8");
}

export type Held = Holder & { start: number };

export function holdersOf(result: SnapshotResult): Held[] {
  return result.events.flatMap((e) => (e.type === "snapshot" ? e.holders : []));
}

/** Licenses in use per feature as we derive them: held counts, plus reservations when asked. */
export function derivedInUse(result: SnapshotResult, withReservations = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of holdersOf(result)) out[h.feature] = (out[h.feature] ?? 0) + h.count;
  if (withReservations) for (const r of result.reservations) out[r.feature] = (out[r.feature] ?? 0) + r.count;
  return out;
}

/** Every feature where stated and derived differ, as `{stated, derived}` (missing = 0 / undefined). */
export function mismatches(result: SnapshotResult, withReservations = false): Record<string, { stated?: number; derived: number }> {
  const derived = derivedInUse(result, withReservations);
  const out: Record<string, { stated?: number; derived: number }> = {};
  for (const f of new Set([...Object.keys(derived), ...Object.keys(result.stated_in_use)])) {
    const d = derived[f] ?? 0;
    const s = result.stated_in_use[f];
    if (s !== d) out[f] = s === undefined ? { derived: d } : { stated: s, derived: d };
  }
  return out;
}

/** Holders as comparable plain rows with ISO start times. */
export function rows(holders: Held[]): Array<Record<string, string | number>> {
  return holders.map((h) => ({
    daemon: h.daemon, feature: h.feature, version: h.version ?? "", user: h.user, host: h.host,
    handle: h.handle ?? "", count: h.count, start: new Date(h.start).toISOString(),
  }));
}
