// Reading the doc back as plain JSON, and the site-root schema check the edge applies to a twin.
import * as Y from "yjs";
import {
  BALANCE_ROOT, collectorIdOfRoot, COST_CENTRES, isJsonValue, SITE_STRING_FIELDS, siteRootName, TERMS_ROOT,
  type ContractDocJson, type DocBalance, type JsonObject, type SiteInfo,
} from "./schema.ts";

export function readContractDoc(doc: Y.Doc): ContractDocJson {
  const terms = doc.getMap(TERMS_ROOT).toJSON() as JsonObject;
  const balanceMap = doc.getMap(BALANCE_ROOT);
  const balance = balanceMap.size === 0 ? null : (balanceMap.toJSON() as DocBalance);
  const sites: Record<string, SiteInfo> = {};
  for (const root of [...doc.share.keys()].sort()) {
    const collectorId = collectorIdOfRoot(root);
    if (collectorId === null) continue;
    const site = readSite(doc.getMap<unknown>(root));
    if (site !== null) sites[collectorId] = site;
  }
  return { terms, balance, sites };
}

/** Why the site root of `collectorId` does not match the site schema, or null if it does. */
export function siteSchemaProblem(doc: Y.Doc, collectorId: string): string | null {
  const root = doc.getMap<unknown>(siteRootName(collectorId));
  for (const [key, value] of root.entries()) {
    if (key === COST_CENTRES) {
      if (!(value instanceof Y.Map)) return "cost_centres must be a nested map";
      for (const [user, centre] of (value as Y.Map<unknown>).entries()) {
        if (typeof centre !== "string") return `cost_centres.${user} must be a string`;
      }
    } else if ((SITE_STRING_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== "string") return `${key} must be a string`;
    } else if (!isJsonValue(value)) {
      return `${key} must be plain JSON`;
    }
  }
  return null;
}

function readSite(root: Y.Map<unknown>): SiteInfo | null {
  if (root.size === 0) return null;
  const json = root.toJSON() as Record<string, unknown>;
  const centres = json[COST_CENTRES];
  return { ...json, cost_centres: centres !== null && typeof centres === "object" ? (centres as Record<string, string>) : {} } as SiteInfo;
}
