import { Hono } from "hono";
import { DurableObject } from "cloudflare:workers";

export interface Env { DB: D1Database; CONTRACT: DurableObjectNamespace<ContractDO>; ADMIN_TOKEN: string; EDGE_SIGNING_KEY: string; TALLY_ENV: string }
const app = new Hono<{ Bindings: Env }>();
app.get("/health", (c) => c.json({ ok: true }));
export class ContractDO extends DurableObject<Env> {}
export default app;
