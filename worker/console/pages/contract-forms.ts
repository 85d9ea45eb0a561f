// The contract page's actions, as plain HTML forms (each with the session's CSRF token): top up
// (a grant), change the plan from a date, enroll a site (the token is shown once, here), and
// make a status link (its URL is shown once). An API error is shown beside the form it concerns.
import { escapeHtml } from "../../pages/layout.ts";
import { csrfField } from "./shell.ts";

export type FormName = "grant" | "plan" | "enrollment" | "status-link";

export interface FormOutcome {
  /** The form an error belongs to, with the API's code and message. */
  error?: { form: FormName; code: string; message: string };
  enrollment?: { enrollment_token: string; expires_at: string };
  statusLink?: { url: string };
}

export function renderForms(contractId: string, plan: unknown, unit: string, timezone: string, csrf: string, outcome: FormOutcome): string {
  const action = (path: string) => `/console/contracts/${escapeHtml(contractId)}/${path}`;
  const err = (form: FormName) => outcome.error?.form === form
    ? `<p class="error" role="alert" id="${form}-error"><strong>${escapeHtml(outcome.error.code)}</strong>: ${escapeHtml(outcome.error.message)}</p>` : "";
  const described = (form: FormName) => (outcome.error?.form === form ? ` aria-describedby="${form}-error"` : "");
  const idem = crypto.randomUUID();
  return `<div class="grid2">
<form class="card" method="post" action="${action("grants")}" id="grant-form"${described("grant")}>
<h3>Top up</h3>${err("grant")}${csrfField(csrf)}<input type="hidden" name="idempotency_key" value="${idem}">
<label for="grant-amount">Amount <span class="hint">(${escapeHtml(unit)}s, a decimal like 500 or 12.5)</span></label>
<input id="grant-amount" name="amount" inputmode="decimal" required pattern="[0-9]+(\\.[0-9]+)?">
<label for="grant-expires">Expires on <span class="hint">(optional; at 00:00 in ${escapeHtml(timezone)})</span></label>
<input id="grant-expires" name="expires_on" type="date">
<label for="grant-priority">Priority <span class="hint">(optional; lower burns first, default 0)</span></label>
<input id="grant-priority" name="priority" inputmode="numeric" pattern="[0-9]+">
<button type="submit">Add grant</button>
</form>
<form class="card" method="post" action="${action("enrollments")}" id="enrollment-form">
<h3>Enroll a site</h3>${err("enrollment")}${csrfField(csrf)}
<p>Creates a one-time enrollment token, valid 7 days, for <code>tally-collector init --enroll</code>. It is shown once.</p>
${outcome.enrollment ? `<div class="secret" role="status"><p><strong>Enrollment token</strong> (copy it now; it is not shown again), expires ${escapeHtml(outcome.enrollment.expires_at)}:</p><p><code id="enrollment-token">${escapeHtml(outcome.enrollment.enrollment_token)}</code></p></div>` : ""}
<button type="submit">Create enrollment token</button>
</form>
<form class="card" method="post" action="${action("status-links")}" id="status-link-form">
<h3>Status link for the customer</h3>${err("status-link")}${csrfField(csrf)}
${outcome.statusLink ? `<div class="secret" role="status"><p><strong>Status link</strong> (shown once; anyone with it sees this contract's status):</p><p><a id="status-link-url" href="${escapeHtml(outcome.statusLink.url)}" hx-boost="false">${escapeHtml(outcome.statusLink.url)}</a></p></div>` : ""}
<label for="status-link-name">Label <span class="hint">(optional, only you see it)</span></label>
<input id="status-link-name" name="name" maxlength="256">
<button type="submit">Make status link</button>
</form>
</div>
<form class="card" method="post" action="${action("plan")}" id="plan-form"${described("plan")}>
<h3>Change the plan from a date</h3>${err("plan")}${csrfField(csrf)}
<label for="plan-effective">Effective from <span class="hint">(00:00 in ${escapeHtml(timezone)}; not inside a closed period)</span></label>
<input id="plan-effective" name="effective_on" type="date" required>
<label for="plan-json">Plan <span class="hint">(JSON, DESIGN §6; currency, unit and period never change)</span></label>
<textarea id="plan-json" name="plan" required spellcheck="false">${escapeHtml(JSON.stringify(plan, null, 2))}</textarea>
<button type="submit">Save plan version</button>
</form>`;
}
