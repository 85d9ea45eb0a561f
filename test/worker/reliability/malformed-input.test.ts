// Guarantee 4: malformed input never changes state. fast-check generates requests to every
// route (enumerated from /openapi.json, plus the collector routes it does not list): garbage
// bodies and structurally-valid-but-wrong ones, wrong content types and encodings, bad ids and
// credentials. Every answer must be < 500 with a stable `{error, message}` whose code maps to
// its status; cases go GROUP at a time, D1 and the ContractDOs are fingerprinted every
// CHECK_EVERY cases and after any group with a 2xx to a write, and a refused request must have
// changed nothing. Bounded-work inputs (a 1 GiB gzip bomb,
// 1 MiB batches with one bad record, oversized batches, deep nesting, huge numbers) are refused
// with their exact code. FUZZ_CASES: 20,000 (issue #6's CI budget; 200,000 with SOAK=1); SEED=n replays. Every
// refusal code the generators reach must be answered at least once: the ones that come up only a
// few times per 20,000 cases are also sent as pinned cases with their exact code. Generated
// cases go to the Worker's exported handler in this isolate (callWorker: the plugin's SELF puts
// ~2.8 ms of hops in front of its ~1.3 ms); every SELF_SAMPLE-th refusal is sent again through
// SELF and must get the same status and code, and the pinned and bounded-work cases go through SELF.
import { afterAll, beforeAll, describe, it, expect } from "vitest";
import fc from "fast-check";
import { call, callWorker, createVendor, enrolledSite, ok, plan, postBatch, settle, type Site } from "../edge-fixture.ts";
import { errorStatus } from "../../../worker/errors.ts";
import { budget, runSeed } from "./budget.ts";
import { changedTables, edgeDigest, type Digest } from "./state-digest.ts";
import { endpointsOf, type FuzzRequest, type World } from "./fuzz-endpoints.ts";
import { bombCases } from "./bounded-work.ts";

const TOTAL = budget(20_000, 200_000);
/** The refusals (`status code`) 20,000 generated cases reached (SEED=125920530: the rarest, gap
 *  and nothing_to_resolve, 3 and 4 times; the pinned cases below send the rare ones for sure). A run that
 *  answers none of one of them no longer exercises that rejection. */
const REFUSALS = [
  "400 malformed", "400 malformed_doc_message", "401 invalid_enrollment_token", "401 unauthorized", "403 collector_mismatch",
  "403 unknown_collector", "404 not_found", "409 enrollment_token_used", "409 gap", "409 nothing_to_resolve", "409 prev_mismatch",
  "413 too_large", "415 unsupported_media_type", "422 invalid_plan", "422 invalid_request",
];
const CHECK_EVERY = 50;
/** Every SELF_SAMPLE-th case of an endpoint that is refused is sent once more through SELF. */
const SELF_SAMPLE = 20;
let resentViaSelf = 0;
/** Cases in flight at once: the edge answers each as it would alone (nothing generated may
 *  change state), and workerd overlaps their D1 and Durable Object round trips. */
const GROUP = 4;
const SEED = runSeed("malformed-input");
const TIMEOUT = { timeout: 1_800_000 };

interface Tally { cases: number; refused: number; accepted: number; codes: Record<string, number> }
const tallies = new Map<string, Tally>();
const failures: string[] = [];
let world: World;
let baseline: Digest;

async function digest(): Promise<Digest> {
  return edgeDigest([world.site.contractId, world.stranger.contractId]);
}

beforeAll(async () => {
  const site = await enrolledSite();
  for (let i = 0; i < 3; i++) site.chain.usage();
  await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)));
  const stranger = await enrolledSite(await createVendor("Other Vendor"));
  const link = await ok(await call("POST", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key, body: {} }), 201);
  const used = await ok(await call("POST", `/v1/contracts/${site.contractId}/enrollments`, { token: site.vendor.api_key }), 201);
  await ok(await call("POST", "/v1/enroll", { body: { enrollment_token: used.enrollment_token, public_key: "ab".repeat(32), site: "used" } }), 201);
  const spec = await (await call("GET", "/openapi.json")).json() as { paths: Record<string, Record<string, unknown>> };
  const customerId = (await ok(await call("GET", `/v1/contracts/${site.contractId}`, { token: site.vendor.api_key }))).customer_id;
  const strangerCustomerId = (await ok(await call("GET", `/v1/contracts/${stranger.contractId}`, { token: stranger.vendor.api_key }))).customer_id;
  world = { site, stranger, customerId, strangerCustomerId, statusToken: link.url.split("/").pop(), usedEnrollmentToken: used.enrollment_token, spec };
  await settle(site.contractId); await settle(stranger.contractId);
  baseline = await digest();
}, 120_000);

afterAll(() => {
  const rows = [...tallies.entries()].map(([name, t]) => `| ${name} | ${t.cases} | ${t.refused} | ${t.accepted} | ${Object.entries(t.codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(", ")} |`);
  const total = [...tallies.values()].reduce((a, t) => a + t.cases, 0);
  console.log(`[fuzz] Guarantee 4, SEED=${SEED}: ${total} cases\n| endpoint | cases | refused (4xx) | 2xx, no change | codes |\n|---|---|---|---|---|\n${rows.join("\n")}`);
});

/** An answer's text, and its JSON if it is JSON. */
async function answerOf(res: Response): Promise<{ text: string; body: any }> {
  const text = await res.text();
  try {
    return { text, body: JSON.parse(text) };
  } catch {
    return { text, body: undefined };
  }
}

/** Sends one case and checks the answer's shape; says whether the state must be compared now
 *  (a 2xx to a write, or `check`). */
async function send(endpoint: string, req: FuzzRequest, check: boolean): Promise<boolean> {
  const tally = tallies.get(endpoint) ?? { cases: 0, refused: 0, accepted: 0, codes: {} };
  tallies.set(endpoint, tally);
  const nth = ++tally.cases;
  const options = { raw: req.body as BodyInit | undefined, headers: req.headers };
  // Generated cases go to the Worker's handler directly (callWorker); the pinned and bounded-work
  // cases, and every SELF_SAMPLE-th refusal again, through SELF, which must answer the same.
  const viaSelf = req.expect !== undefined;
  const res = await (viaSelf ? call : callWorker)(req.method, req.path, options);
  const { text, body } = await answerOf(res);
  const where = `${endpoint} [${req.label}]`;
  if (!viaSelf && res.status >= 400 && res.status < 500 && nth % SELF_SAMPLE === 0) {
    const again = await call(req.method, req.path, options);
    const resent = await answerOf(again);
    resentViaSelf++;
    if (again.status !== res.status || resent.body?.error !== body?.error) {
      failures.push(`${where}: the Worker answered ${res.status} ${body?.error}, SELF ${again.status} ${resent.text.slice(0, 200)}`);
    }
  }
  if (res.status >= 500) failures.push(`${where}: ${res.status} ${text.slice(0, 200)}`);
  else if (res.status >= 400) {
    tally.refused++;
    const code = body?.error;
    tally.codes[`${res.status} ${code}`] = (tally.codes[`${res.status} ${code}`] ?? 0) + 1;
    // The customer status page answers HTML unless Accept prefers JSON (DESIGN §7).
    const htmlPage = req.path.startsWith("/status/") && (res.headers.get("Content-Type") ?? "").startsWith("text/html");
    if (!htmlPage && (typeof code !== "string" || typeof body.message !== "string" || errorStatus[code as keyof typeof errorStatus] !== res.status)) {
      failures.push(`${where}: ${res.status} without a stable {error, message}: ${text.slice(0, 200)}`);
    }
  } else tally.codes[String(res.status)] = (tally.codes[String(res.status)] ?? 0) + 1;
  if (req.expect && (res.status !== req.expect.status || body?.error !== req.expect.error)) {
    failures.push(`${where}: expected ${req.expect.status} ${req.expect.error}, got ${res.status} ${text.slice(0, 200)}`);
  }
  if (res.status < 400) tally.accepted++;
  // A 2xx may be a read (a GET, a doc SyncStep1): it must change nothing either, since every
  // generated case is malformed for a write.
  return (res.status < 400 && req.method !== "GET") || check;
}

/**
 * Sends a group of cases at once (GROUP requests in flight, as clients do) and then, when one of
 * them asks for it, compares the state: a change is reported against the group's cases.
 */
async function sendGroup(group: Array<{ endpoint: string; req: FuzzRequest; check: boolean }>): Promise<void> {
  const compare = await Promise.all(group.map((c) => send(c.endpoint, c.req, c.check)));
  if (!compare.some(Boolean)) return;
  const now = await digest();
  const changed = changedTables(baseline, now);
  if (changed.length) {
    failures.push(`${group.map((c) => `${c.endpoint} [${c.req.label}]`).join(" | ")}: changed ${changed.join(", ")} (in this group of cases${group.some((c) => c.check) ? ", or in the cases since the last comparison" : ""})`);
    baseline = now;
  }
}

/** Wrong requests for the refusals the generators reach only a few times per 20,000 cases, each
 *  with its exact answer; like every case, they must change nothing. */
function pinnedCases(): Array<{ endpoint: string; req: FuzzRequest }> {
  const json = { "Content-Type": "application/json" };
  const vendor = { ...json, Authorization: `Bearer ${world.site.vendor.api_key}` };
  const enroll = (token: string) => JSON.stringify({ enrollment_token: token, public_key: "cd".repeat(32), site: "plant-9" });
  // The edge holds records 1–3; endpointsOf made 4–8 (sent only mutated): 5–8 skips one.
  const skipping = JSON.stringify(world.site.chain.batch(5, 8));
  const negativeRate = JSON.stringify({ customer_id: world.customerId, plan: { ...plan, rates: { MATLAB: "-1" } }, start: "2026-11-01", timezone: "UTC" });
  return [
    { endpoint: "POST /v1/contracts", req: { method: "POST", path: "/v1/contracts", headers: vendor, body: negativeRate, label: "pinned: a plan with a negative rate", expect: { status: 422, error: "invalid_plan" } } },
    { endpoint: "POST /v1/enroll", req: { method: "POST", path: "/v1/enroll", headers: json, body: enroll("te_test_neverissued"), label: "pinned: a token never issued", expect: { status: 401, error: "invalid_enrollment_token" } } },
    { endpoint: "POST /v1/enroll", req: { method: "POST", path: "/v1/enroll", headers: json, body: enroll(world.usedEnrollmentToken), label: "pinned: a used token", expect: { status: 409, error: "enrollment_token_used" } } },
    { endpoint: "POST /v1/collectors/{id}/resolve", req: { method: "POST", path: `/v1/collectors/${world.site.collectorId}/resolve`, headers: vendor, body: "{}", label: "pinned: no fork to resolve", expect: { status: 409, error: "nothing_to_resolve" } } },
    { endpoint: "POST /v1/collectors/{id}/batches", req: { method: "POST", path: `/v1/collectors/${world.site.collectorId}/batches`, headers: json, body: skipping, label: "pinned: a genuine batch that skips a record", expect: { status: 409, error: "gap" } } },
  ];
}

describe("malformed input never changes state", () => {
  it("≥ 20,000 generated requests across every route: no 5xx, stable codes, every refusal code, no state change", TIMEOUT, async () => {
    const endpoints = endpointsOf(world);
    const weightSum = endpoints.reduce((a, e) => a + e.weight, 0);
    let seed = SEED;
    let sent = 0;
    for (const endpoint of endpoints) {
      const runs = Math.ceil((TOTAL * endpoint.weight) / weightSum);
      const cases = fc.sample(endpoint.cases, { seed: seed++, numRuns: runs });
      for (let i = 0; i < cases.length; i += GROUP) {
        const group = cases.slice(i, i + GROUP).map((req, j) => ({
          endpoint: endpoint.name, req, check: (i + j + 1) % CHECK_EVERY === 0 || i + j === cases.length - 1,
        }));
        await sendGroup(group);
        sent += group.length;
      }
    }
    for (const { endpoint, req } of pinnedCases()) await sendGroup([{ endpoint, req, check: true }]);
    console.log(`[fuzz] ${sent} generated cases, ${resentViaSelf} refusals sent again through SELF`);
    expect(sent).toBeGreaterThanOrEqual(TOTAL);
    expect(resentViaSelf).toBeGreaterThanOrEqual(TOTAL / SELF_SAMPLE / 2);
    expect(failures.slice(0, 20)).toEqual([]);
    const answered = new Set([...tallies.values()].flatMap((t) => Object.keys(t.codes)));
    expect(REFUSALS.filter((code) => !answered.has(code))).toEqual([]);
  });

  it("bounded work: a 1 GiB gzip bomb, 1 MiB batches with one bad record, oversized and deep bodies are refused with their code", TIMEOUT, async () => {
    for (const { endpoint, request } of await bombCases(world, SEED)) await sendGroup([{ endpoint, req: request, check: true }]);
    expect(failures.slice(0, 20)).toEqual([]);
  });
});
