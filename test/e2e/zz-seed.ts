import { startLocalEdge, edgeRequest } from "/work/wt/sdk/test/support/local-edge.ts";
import { seedDemo } from "/work/wt/sdk/scripts/demo-seed.ts";
import { startClockRelay } from "/work/wt/sdk/scripts/demo-clock-relay.ts";
import { mkdtemp } from "node:fs/promises";
const edge = await startLocalEdge();
const relay = await startClockRelay(edge.url);
try {
  const dir = await mkdtemp("/tmp/seed-");
  const t0 = Date.now();
  const demo = await seedDemo({ edge: edge.url, adminToken: edge.adminToken, dir, timezone: "Europe/Madrid", relay, say: (l) => console.log(((Date.now() - t0) / 1000).toFixed(1), l) });
  console.log("seeded in", (Date.now() - t0) / 1000, "s");
  for (const c of demo.contracts) {
    const b: any = await edgeRequest(edge, "GET", `/v1/contracts/${c.id}/balance`, demo.vendor_key);
    console.log(c.customer, JSON.stringify({ period: b.period, usage: b.usage.units, granted: b.granted_units, remaining: b.remaining_units, overage: b.overage_units, unbilled: b.unbilled_overage_units, charges: b.charges, status: b.status }));
    const p0: any = await edgeRequest(edge, "GET", `/v1/contracts/${c.id}`, demo.vendor_key);
    const st: any = await edgeRequest(edge, "GET", `/v1/contracts/${c.id}/statement?period=${p0.start}`, demo.vendor_key);
    console.log(" first statement", st.state, st.total, st.lines.map((l: any) => `${l.kind}:${l.quantity}:${l.amount}`).join(" "));
  }
  const from = new Date(Date.now() - 61 * 86400_000).toISOString().slice(0, 19) + "Z", to = new Date().toISOString().slice(0, 19) + "Z";
  const u: any = await edgeRequest(edge, "GET", `/v1/contracts/${demo.contract_id}/usage?from=${from}&to=${to}&group_by=day`, demo.vendor_key);
  console.log("days", u.rows.length, u.rows.slice(0, 8).map((r: any) => `${r.day}:${r.units}`).join(" "));
} finally { await relay.close(); await edge.stop(); }
