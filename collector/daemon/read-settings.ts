// The settings a source is read with besides its file (zone, encoding, package features, cut_s), and
// which of them a saved state must keep: read on with another zone, encoding or package features,
// what follows would be shifted or mis-paired (line-reader.ts, and `run` and `backfill` refuse it).
import { sourceKinds } from "../sources/registry.ts";

/** What the records depend on besides the file. A state goes on only in the zone, encoding and
 *  package features it was saved with (`settingsChange`); a change of cut_s applies from the next cut. */
export interface ReadSettings {
  timezone: string;
  encoding: string;
  cut_s: number;
  package_features?: string[];
}

/**
 * The settings a saved state was read with that `now` changes, as `timezone UTC → Europe/Madrid`, or
 * null. Read on in another zone, a log's next lines look like a clock set back or forward (read so
 * until lmgrd restarts) and a polled holder like a new session, the old one ended; in another encoding
 * or with other package features a check-out and its check-in no longer pair (a session billed until
 * the server restarts). cut_s is not among them: where open sessions are cut changes no total.
 * `kind`'s times may carry their own offset (jsonl): its zone is no setting then.
 */
export function settingsChange(kind: string, saved: Partial<ReadSettings> | undefined, now: ReadSettings): string | null {
  if (saved === undefined) return null;
  const changes: string[] = [];
  const zone = (z: string | undefined) => (z ? canonicalZone(z) : z);
  if (!sourceKinds[kind]?.offsets && saved.timezone !== undefined && zone(saved.timezone) !== zone(now.timezone)) changes.push(`timezone ${saved.timezone} → ${now.timezone}`);
  if (saved.encoding !== undefined && encodingName(saved.encoding) !== encodingName(now.encoding)) changes.push(`encoding ${saved.encoding} → ${now.encoding}`);
  const packages = (p: string[] | undefined) => [...new Set(p ?? [])].sort().join(",");
  if (packages(saved.package_features) !== packages(now.package_features)) changes.push(`package_features [${packages(saved.package_features)}] → [${packages(now.package_features)}]`);
  return changes.length > 0 ? changes.join(", ") : null;
}

function canonicalZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}

function encodingName(label: string): string {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return label;
  }
}
