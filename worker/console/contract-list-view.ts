// The rows of the console's contract list: one page of the vendor's contracts, each with its
// balance (a call to its Durable Object) and its customer's name. Names are read by id for the
// customers on the page only, so a page costs what it shows, not what the vendor has: listing
// every customer to name a page's contracts grew with the vendor's customers on every view.
import type { ConsoleApi } from "./in-process-api.ts";
import { someItems } from "./in-process-api.ts";
import type { ContractListRow } from "./pages/contract-list.ts";

export async function loadContractList(api: ConsoleApi, limit: number, after?: string): Promise<{ rows: ContractListRow[]; next: string | null }> {
  const page = await someItems<{ id: string; customer_id: string; plan: Record<string, any> }>(api, "/v1/contracts", limit, after);
  const customerIds = [...new Set(page.items.map((k) => k.customer_id))];
  const [named, rows] = await Promise.all([
    Promise.all(customerIds.map(async (id) => {
      const answer = await api.get(`/v1/customers/${encodeURIComponent(id)}`);
      return [id, answer.ok ? String(answer.body.name) : id] as const;
    })),
    Promise.all(page.items.map(async (k) => {
      const b = await api.get(`/v1/contracts/${k.id}/balance`);
      const balance = b.ok ? b.body : undefined;
      const syncs: string[] = (balance?.collectors ?? []).map((s: { last_sync: string | null }) => s.last_sync).filter(Boolean);
      return {
        id: k.id, customer: k.customer_id, model: String(k.plan.model ?? "–"),
        unit_name: String(balance?.unit_name ?? k.plan.unit_name ?? "unit"), period_start_date: balance?.period?.start_date ?? null,
        status: balance?.status ?? null, stale: balance?.stale === true,
        remaining_units: balance?.remaining_units ?? null, granted_units: balance?.granted_units ?? null,
        usage_units: typeof balance?.usage?.units === "string" ? balance.usage.units : null,
        license_seconds: balance?.usage?.license_seconds ?? 0, last_sync: syncs.sort().at(-1) ?? null, live: b.ok,
      };
    })),
  ]);
  const names = new Map(named);
  return { rows: rows.map((r) => ({ ...r, customer: names.get(r.customer) ?? r.customer })), next: page.next };
}
