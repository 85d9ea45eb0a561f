// The sign-in page: one field, the vendor API key (a password field, so it is masked and not
// remembered as ordinary text). The key is sent once and never stored; see console/session.ts.
import { escapeHtml } from "../../pages/layout.ts";
import { renderConsolePage } from "./shell.ts";

export function renderSignIn(error?: string): string {
  return renderConsolePage({ title: "Sign in" }, `
<h1>Sign in</h1>
<p>Use one of your vendor API keys (<code>tk_…</code>). The console keeps a session for 12 hours; the key itself is not stored.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<form class="card" method="post" action="/console/sign-in">
<label for="api_key">API key</label>
<input id="api_key" name="api_key" type="password" autocomplete="current-password" required spellcheck="false" autocapitalize="off">
<button type="submit">Sign in</button>
</form>`);
}
