// Writing the doc's roots from plain JSON: the edge writes `terms` and `balance`, a site its own
// `site:<collector_id>`. Each call is one Yjs transaction that touches only the fields that changed,
// so an unchanged write adds nothing to the doc.
import * as Y from "yjs";
import { ContractDocError } from "./errors.ts";
import {
  BALANCE_ROOT, balanceProblem, COST_CENTRES, isJsonValue, SITE_STRING_FIELDS, siteRootName, TERMS_ROOT,
  type DocBalance, type JsonObject, type JsonValue, type SitePatch,
} from "./schema.ts";

/** Replaces the terms with `terms` (keys missing from it are removed). */
export function writeTerms(doc: Y.Doc, terms: JsonObject): void {
  if (!isJsonValue(terms) || terms === null || typeof terms !== "object" || Array.isArray(terms)) {
    throw new ContractDocError("invalid_doc_content", "terms must be a plain JSON object");
  }
  doc.transact(() => replaceFields(doc.getMap<JsonValue>(TERMS_ROOT), terms));
}

/** Replaces the balance with `balance` (keys missing from it are removed). */
export function writeBalance(doc: Y.Doc, balance: DocBalance): void {
  const problem = balanceProblem(balance);
  if (problem !== null) throw new ContractDocError("invalid_doc_content", problem);
  doc.transact(() => replaceFields(doc.getMap<JsonValue>(BALANCE_ROOT), balance));
}

/** Applies `patch` to the site root of `collectorId`. */
export function writeSite(doc: Y.Doc, collectorId: string, patch: SitePatch): void {
  const root = doc.getMap<unknown>(siteRootName(collectorId));
  for (const field of SITE_STRING_FIELDS) {
    const value = patch[field];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new ContractDocError("invalid_doc_content", `site.${field} must be a string or null`);
    }
  }
  for (const [user, centre] of Object.entries(patch.cost_centres ?? {})) {
    if (centre !== null && typeof centre !== "string") {
      throw new ContractDocError("invalid_doc_content", `site.cost_centres.${user} must be a string or null`);
    }
  }
  doc.transact(() => {
    for (const field of SITE_STRING_FIELDS) {
      const value = patch[field];
      if (value === null) root.delete(field);
      else if (value !== undefined && root.get(field) !== value) root.set(field, value);
    }
    const entries = Object.entries(patch.cost_centres ?? {});
    if (entries.length === 0) return;
    let centres = root.get(COST_CENTRES);
    if (!(centres instanceof Y.Map)) centres = root.set(COST_CENTRES, new Y.Map<string>());
    const map = centres as Y.Map<string>;
    for (const [user, centre] of entries) {
      if (centre === null) map.delete(user);
      else if (map.get(user) !== centre) map.set(user, centre);
    }
  });
}

function replaceFields(map: Y.Map<JsonValue>, value: JsonObject): void {
  for (const key of [...map.keys()]) if (!Object.hasOwn(value, key)) map.delete(key);
  for (const [key, field] of Object.entries(value)) {
    // Yjs keeps the very object it is given: store a copy so a caller's later mutation can't leak in.
    if (JSON.stringify(map.get(key)) !== JSON.stringify(field)) map.set(key, structuredClone(field));
  }
}
