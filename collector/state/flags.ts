// Trust flags: facts that make further syncing unsafe or pointless until a person resolves them
// (an equivocation the edge reported, an edge that forgot what it receipted, a collector the
// vendor revoked, credentials the edge refuses). Persisted so a restart cannot forget them and
// go back to hammering the edge.
import { readJsonFile, writeJsonFile } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

export type TrustFlagCode = "equivocation" | "edge_regressed" | "revoked" | "refused";

export interface TrustFlag { code: TrustFlagCode; message: string; seq?: number; at: string }

export async function loadFlags(paths: StatePaths): Promise<TrustFlag[]> {
  return (await readJsonFile<{ flags?: TrustFlag[] }>(paths.flags))?.flags ?? [];
}

export async function raiseFlag(paths: StatePaths, flag: TrustFlag): Promise<void> {
  const flags = await loadFlags(paths);
  flags.push(flag);
  await writeJsonFile(paths.flags, { flags });
}

export async function clearFlags(paths: StatePaths): Promise<TrustFlag[]> {
  const flags = await loadFlags(paths);
  await writeJsonFile(paths.flags, { flags: [] });
  return flags;
}
