// The console's form posts under /console/contracts/:id: each becomes one API call, in-process,
// with the session's vendor grant. A top-up or a plan change redirects back to the contract
// (post/redirect/get); an enrollment token or a status link URL is shown once in the answer
// (never stored by the console). An API error re-renders the page with the error by its form.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { instant } from "../instant.ts";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";
import type { ConsoleEnv } from "./guard.ts";
import { consoleApi, refusal, type ApiAnswer, type ConsoleApi } from "./in-process-api.ts";
import { loadContractView } from "./contract-view.ts";
import { renderContractPage } from "./pages/contract-page.ts";
import type { FormName, FormOutcome } from "./pages/contract-forms.ts";
import { CONSOLE_HEADERS } from "./pages/shell.ts";

type Form = Record<string, string | File>;

export function consoleActions(app: Hono<AppEnv>): Hono<ConsoleEnv> {
  const actions = new Hono<ConsoleEnv>();
  const api = (c: Context<ConsoleEnv>) => consoleApi(app, c as unknown as Context<AppEnv>, c.get("session"));
  const field = (form: Form, name: string) => (typeof form[name] === "string" ? (form[name] as string).trim() : "");

  actions.post("/:id/grants", async (c) => {
    const form = await c.req.parseBody();
    const id = c.req.param("id");
    const timezone = await contractZone(api(c), id);
    const body: Record<string, unknown> = { amount: field(form, "amount"), idempotency_key: field(form, "idempotency_key") || crypto.randomUUID() };
    const expires = field(form, "expires_on");
    if (expires) {
      body.expires_at = midnight(expires, timezone);
      if (!body.expires_at) return rerender(c, id, { error: { form: "grant", code: "invalid_request", message: "expires_on: not a date (YYYY-MM-DD)." } });
    }
    const priority = field(form, "priority");
    if (priority) body.priority = /^\d{1,9}$/.test(priority) ? Number(priority) : priority;
    const answer = await api(c).send("POST", `/v1/contracts/${encodeURIComponent(id)}/grants`, body);
    if (!answer.ok) return rerender(c, id, failure("grant", answer));
    return c.redirect(`/console/contracts/${encodeURIComponent(id)}?notice=grant-added`, 303);
  });

  actions.post("/:id/plan", async (c) => {
    const form = await c.req.parseBody();
    const id = c.req.param("id");
    const timezone = await contractZone(api(c), id);
    let plan: unknown;
    try {
      plan = JSON.parse(field(form, "plan"));
    } catch {
      return rerender(c, id, { error: { form: "plan", code: "malformed", message: "The plan is not valid JSON." } });
    }
    const effective = midnight(field(form, "effective_on"), timezone);
    if (!effective) return rerender(c, id, { error: { form: "plan", code: "invalid_request", message: "effective_on: choose the date the plan takes effect (YYYY-MM-DD)." } });
    const answer = await api(c).send("PUT", `/v1/contracts/${encodeURIComponent(id)}/plan`, { plan, effective_at: effective });
    if (!answer.ok) return rerender(c, id, failure("plan", answer));
    return c.redirect(`/console/contracts/${encodeURIComponent(id)}?notice=plan-saved`, 303);
  });

  actions.post("/:id/enrollments", async (c) => {
    const id = c.req.param("id");
    const answer = await api(c).send("POST", `/v1/contracts/${encodeURIComponent(id)}/enrollments`, {});
    if (!answer.ok) return rerender(c, id, failure("enrollment", answer));
    return rerender(c, id, { enrollment: answer.body });
  });

  actions.post("/:id/status-links", async (c) => {
    const form = await c.req.parseBody();
    const id = c.req.param("id");
    const name = field(form, "name");
    const answer = await api(c).send("POST", `/v1/contracts/${encodeURIComponent(id)}/status-links`, name ? { name } : {});
    if (!answer.ok) return rerender(c, id, failure("status-link", answer));
    return rerender(c, id, { statusLink: { url: answer.body.url } });
  });

  /** The contract page again, at the contract's own URL for htmx's history (`HX-Replace-Url`). */
  async function rerender(c: Context<ConsoleEnv>, id: string, outcome: FormOutcome): Promise<Response> {
    const view = await loadContractView(api(c), id, c.get("now"));
    if (!view) throw new EdgeError("not_found", "no such contract");
    const status = outcome.error ? (outcome.error.code === "not_found" ? 404 : 422) : 200;
    return c.body(renderContractPage(view, c.get("session").csrfToken, outcome), status, {
      ...CONSOLE_HEADERS, "HX-Replace-Url": `/console/contracts/${encodeURIComponent(id)}`,
    });
  }
  return actions;
}

function failure(form: FormName, answer: ApiAnswer): FormOutcome {
  const code = answer.error || `http_${answer.status}`;
  const message = answer.status === 404 && !answer.message ? "This edge does not offer that yet." : answer.message || "The edge refused the request.";
  return { error: { form, code, message } };
}

async function contractZone(api: ConsoleApi, id: string): Promise<string> {
  const contract = await api.get(`/v1/contracts/${encodeURIComponent(id)}`);
  if (!contract.ok) throw refusal(contract, "no such contract");
  return String(contract.body.timezone);
}

/** A `YYYY-MM-DD` form date as 00:00 that day in the contract's zone, as an API instant. */
function midnight(date: string, timezone: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  return instant(wallTimeToUtc({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0, second: 0 }, timezone));
}
