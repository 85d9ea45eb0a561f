// POST /__dev/webhook-sink/:name (refused in production, not part of the API): a webhook
// receiver inside the edge itself, so tests deliver real signed webhooks without a network
// (contract/webhook-transport.ts routes `*.test` URLs here in-process). Each delivery is kept
// in a dev-only D1 table created on first use — never a migration: production has no such table.
// `?fail=N`: answer 503 to the first N deliveries of each event (to exercise retries).
import { Hono } from "hono";
import { allowsDevelopmentAids, type AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";

export const devWebhookSink = new Hono<AppEnv>().post("/webhook-sink/:name", async (c) => {
  if (!allowsDevelopmentAids(c.env)) throw new EdgeError("not_found", "no such route");
  await c.env.DB.exec("CREATE TABLE IF NOT EXISTS dev_webhook_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, event_id TEXT, signature TEXT, body TEXT NOT NULL, status INTEGER NOT NULL)");
  const body = await c.req.text();
  const eventId = c.req.header("Tally-Event-Id") ?? null;
  const fail = Number(c.req.query("fail") ?? 0);
  const seen = await c.env.DB.prepare("SELECT count(*) AS n FROM dev_webhook_deliveries WHERE name = ? AND event_id = ?").bind(c.req.param("name"), eventId).first<{ n: number }>();
  const status = (seen?.n ?? 0) < fail ? 503 : 204;
  await c.env.DB.prepare("INSERT INTO dev_webhook_deliveries (name, event_id, signature, body, status) VALUES (?, ?, ?, ?, ?)")
    .bind(c.req.param("name"), eventId, c.req.header("Tally-Signature") ?? null, body, status).run();
  return c.body(null, status);
});
