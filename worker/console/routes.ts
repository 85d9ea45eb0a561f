// The vendor console at /console: server-rendered pages over the edge's own API (read in-process,
// in-process-api.ts), signed in with a vendor API key (session.ts), guarded against cross-site
// requests (guard.ts). Static files (htmx, uPlot, console.js) are Worker assets under
// /console/assets/ (wrangler.toml [assets]); everything else here is rendered per request.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { closeSession, currentSession, openSession } from "./session.ts";
import { sameOrigin, signedIn, type ConsoleEnv } from "./guard.ts";
import { allItems, consoleApi, someItems } from "./in-process-api.ts";
import { loadContractView } from "./contract-view.ts";
import { consoleActions } from "./actions.ts";
import { renderSignIn } from "./pages/sign-in.ts";
import { renderContractList, type ContractListRow } from "./pages/contract-list.ts";
import { renderContractPage } from "./pages/contract-page.ts";
import { CONSOLE_HEADERS, renderConsolePage } from "./pages/shell.ts";
import { escapeHtml } from "../pages/layout.ts";
import type { Context } from "hono";

/**
 * Contracts on one page of the list at most: each costs a balance read, a call to its Durable
 * Object, and Cloudflare allows a request 1,000 such calls. A vendor with more contracts pages
 * through them (`?after=`), each page most urgent first. `?limit=` asks for fewer.
 */
export const CONTRACTS_PER_PAGE = 500;

function listLimit(text: string | undefined): number {
  if (text === undefined || text === "") return CONTRACTS_PER_PAGE;
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= CONTRACTS_PER_PAGE)) throw new EdgeError("invalid_request", `limit: a whole number from 1 to ${CONTRACTS_PER_PAGE}`, { field: "query.limit" });
  return n;
}

export const NOTICES: Record<string, string> = {
  "grant-added": "Grant added: the balance below includes it.",
  "plan-saved": "Plan version saved.",
  "signed-out": "Signed out.",
};

export function vendorConsole(app: Hono<AppEnv>): Hono<ConsoleEnv> {
  const ui = new Hono<ConsoleEnv>();
  ui.use(sameOrigin());

  ui.get("/sign-in", async (c) => {
    if (await currentSession(c as unknown as Context<AppEnv>)) return c.redirect("/console", 303);
    return c.body(renderSignIn(), 200, CONSOLE_HEADERS);
  });
  ui.post("/sign-in", async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.api_key === "string" ? form.api_key.trim() : "";
    const session = key ? await openSession(c as unknown as Context<AppEnv>, key) : undefined;
    if (!session) return c.body(renderSignIn("That API key is unknown or revoked."), 401, CONSOLE_HEADERS);
    return c.redirect("/console", 303);
  });

  ui.use(signedIn());
  ui.post("/sign-out", async (c) => {
    await closeSession(c as unknown as Context<AppEnv>, c.get("session"));
    return c.redirect("/console/sign-in", 303);
  });

  ui.get("/", async (c) => {
    const api = consoleApi(app, c as unknown as Context<AppEnv>, c.get("session"));
    const limit = listLimit(c.req.query("limit"));
    const after = c.req.query("after") || undefined;
    const [page, customers] = await Promise.all([
      someItems<{ id: string; customer_id: string; plan: Record<string, any> }>(api, "/v1/contracts", limit, after),
      allItems<{ id: string; name: string }>(api, "/v1/customers"),
    ]);
    const contracts = page.items;
    const names = new Map(customers.map((x) => [x.id, x.name]));
    const rows: ContractListRow[] = await Promise.all(contracts.map(async (k) => {
      const b = await api.get(`/v1/contracts/${k.id}/balance`);
      const balance = b.ok ? b.body : undefined;
      const syncs: string[] = (balance?.collectors ?? []).map((s: { last_sync: string | null }) => s.last_sync).filter(Boolean);
      return {
        id: k.id, customer: names.get(k.customer_id) ?? k.customer_id, model: String(k.plan.model ?? "–"),
        unit_name: String(balance?.unit_name ?? k.plan.unit_name ?? "unit"), period_start_date: balance?.period?.start_date ?? null,
        status: balance?.status ?? null, stale: balance?.stale === true,
        remaining_units: balance?.remaining_units ?? null, granted_units: balance?.granted_units ?? null,
        usage_units: typeof balance?.usage?.units === "string" ? balance.usage.units : null,
        license_seconds: balance?.usage?.license_seconds ?? 0, last_sync: syncs.sort().at(-1) ?? null, live: b.ok,
      };
    }));
    const paging = { limit, first: after === undefined, next: page.next };
    return c.body(renderContractList(rows, c.get("session").csrfToken, NOTICES[c.req.query("notice") ?? ""], paging), 200, CONSOLE_HEADERS);
  });

  ui.get("/contracts/:id", async (c) => {
    const api = consoleApi(app, c as unknown as Context<AppEnv>, c.get("session"));
    const view = await loadContractView(api, c.req.param("id"), c.get("now"));
    if (!view) throw new EdgeError("not_found", "no such contract");
    return c.body(renderContractPage(view, c.get("session").csrfToken, { notice: NOTICES[c.req.query("notice") ?? ""] }), 200, CONSOLE_HEADERS);
  });

  ui.get("/contracts/:id/statement.csv", async (c) => {
    const api = consoleApi(app, c as unknown as Context<AppEnv>, c.get("session"));
    const id = c.req.param("id");
    const answer = await api.get(`/v1/contracts/${encodeURIComponent(id)}/statement`, "text/csv");
    if (!answer.ok) throw new EdgeError(answer.status === 404 ? "not_found" : "internal", answer.message || "statement unavailable");
    const period = String(answer.headers.get("content-disposition") ?? "").match(/filename="?([^";]+)"?/)?.[1] ?? `statement-${id}.csv`;
    return c.body(String(answer.body), 200, {
      "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="${period.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
    });
  });

  ui.route("/contracts", consoleActions(app));

  ui.onError((err, c) => {
    const notFound = err instanceof EdgeError && err.code === "not_found";
    if (err instanceof EdgeError && err.code === "invalid_request") { // a link edited by hand (?limit, ?after)
      const body = renderConsolePage({ title: "Bad request", csrf: c.get("session")?.csrfToken },
        `<h1>Bad request</h1><p class="error" role="alert">${escapeHtml(err.message)}</p><p><a href="/console">All contracts</a></p>`);
      return c.body(body, 422, CONSOLE_HEADERS);
    }
    if (!notFound) console.error("console:", err);
    const body = renderConsolePage({ title: notFound ? "Not found" : "Error", csrf: c.get("session")?.csrfToken },
      notFound ? `<h1>Not found</h1><p>There is no such contract among yours.</p><p><a href="/console">All contracts</a></p>`
        : `<h1>Something went wrong</h1><p class="error" role="alert">The console could not answer. Try again; if it persists, the edge's logs say why.</p>`);
    return c.body(body, notFound ? 404 : 500, CONSOLE_HEADERS);
  });
  ui.notFound((c) => c.body(renderConsolePage({ title: "Not found" }, `<h1>Not found</h1><p><a href="/console">Back to the console</a></p>`), 404, CONSOLE_HEADERS));
  return ui;
}
