import { SELF, env } from "cloudflare:test";
import { it, expect } from "vitest";
it("health answers", async () => {
  const r = await SELF.fetch("http://x/health");
  expect(await r.json()).toEqual({ ok: true });
  const t = await env.DB.prepare("select count(*) as n from placeholder").first();
  expect(t).toEqual({ n: 0 });
});
