// The vendor console at /console: server-rendered pages over the edge's own API (read in-process,
// in-process-api.ts), signed in with a vendor API key (session.ts), guarded against cross-site
// requests (guard.ts). Static files (htmx, uPlot, console.js) are Worker assets under
// /console/assets/ (wrangler.toml [assets]); everything else here is rendered per request.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError, edgeErrorOf } from "../errors.ts";
import { closeSession, currentSession, openSession } from "./session.ts";
import { sameOrigin, signedIn, type ConsoleEnv } from "./guard.ts";
import { consoleApi, refusal } from "./in-process-api.ts";
import { loadContractList } from "./contract-list-view.ts";
import { loadContractView } from "./contract-view.ts";
import { consoleActions } from "./actions.ts";
import { renderSignIn } from "./pages/sign-in.ts";
import { renderContractList } from "./pages/contract-list.ts";
import { renderContractPage } from "./pages/contract-page.ts";
import { CONSOLE_HEADERS, renderConsolePage } from "./pages/shell.ts";
import { escapeHtml } from "../pages/layout.ts";
import type { Context } from "hono";

/**
 * Contracts on one page of the list at most. A row costs up to three calls Cloudflare counts
 * against the request's 1,000: its contract's D1 row, its balance (a call to its Durable Object)
 * and, for the first row of each customer, the customer's name (contract-list-view.ts). A vendor
 * with more contracts pages through them (`?after=`), each page most urgent first. `?limit=` asks
 * for fewer.
 */
export const CONTRACTS_PER_PAGE = 300;

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
    const { rows, next } = await loadContractList(api, limit, after);
    const paging = { limit, first: after === undefined, next };
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
    if (!answer.ok) throw refusal(answer, "statement unavailable");
    const period = String(answer.headers.get("content-disposition") ?? "").match(/filename="?([^";]+)"?/)?.[1] ?? `statement-${id}.csv`;
    return c.body(String(answer.body), 200, {
      "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="${period.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
    });
  });

  ui.route("/contracts", consoleActions(app));

  ui.onError((err, c) => {
    const edge = edgeErrorOf(err);
    const notFound = edge?.code === "not_found";
    if (edge?.code === "invalid_request") { // a link edited by hand (?limit, ?after)
      const body = renderConsolePage({ title: "Bad request", csrf: c.get("session")?.csrfToken },
        `<h1>Bad request</h1><p class="error" role="alert">${escapeHtml(edge.message)}</p><p><a href="/console">All contracts</a></p>`);
      return c.body(body, 422, CONSOLE_HEADERS);
    }
    if (edge?.code === "storage_too_new") { // the API's 503: its message says what to do
      const body = renderConsolePage({ title: "Contract unavailable", csrf: c.get("session")?.csrfToken },
        `<h1>Contract unavailable</h1><p class="error" role="alert">${escapeHtml(edge.message)}</p>`
        + `<p class="muted">Error code <code>${edge.code}</code>.</p><p><a href="/console">All contracts</a></p>`);
      return c.body(body, edge.status, CONSOLE_HEADERS);
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
