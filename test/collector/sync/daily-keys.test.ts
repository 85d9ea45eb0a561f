// The daily read of GET /v1/keys (collector/sync/syncer.ts) against a small HTTP server that plays
// the edge's key route: a site with nothing to send still reads the list once it is due, stores
// what it learns and revokes with the time, and a list it cannot use (an error, a proxy's HTML
// page, an edge that is away) fails nothing and leaves the read due. The full rotation story
// against a real edge is test/e2e/edge-key-rotation.test.ts.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateKeyPair, revokeEdgeKey } from "../../../shared/protocol/index.ts";
import { mergeEdgeKeys } from "../../../collector/state/edge-keys.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { cli, enrolledState } from "../cli/cli-io.ts";
import { edgeKeyRef as ref } from "../../support/edge-key-ref.ts";

const [current, next] = [generateKeyPair(), generateKeyPair()];

/** What GET /v1/keys answers next: status and body text. */
let answer: { status: number; body: string } = { status: 200, body: "{}" };
const asked: string[] = [];
let server: Server;
let url: string;
let root: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (req.url === "/v1/keys") res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body);
    else res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found", message: "not here" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  root = await mkdtemp(join(tmpdir(), "tally-daily-keys-"));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  if (root) await rm(root, { recursive: true, force: true });
});

const stored = async (dir: string) => JSON.parse(await readFile(join(dir, "edge-keys.json"), "utf8")) as { keys: Array<{ key_id: string }>; revoked?: Array<{ key_id: string }>; checked_at?: string };

it("a site with nothing to send reads a due list: answers that are not a list change nothing, the edge's list is stored with its time", async () => {
  const dir = join(root, "site");
  await enrolledState(dir, url);
  await mergeEdgeKeys(statePaths(dir), [ref(current)]); // a site from before the daily read: no checked_at
  const sync = () => cli(["sync", "--json", "--attempts", "1", "--state", dir]);

  for (const [status, body] of [[200, "<html>please sign in</html>"], [200, JSON.stringify({ keys: "none" })], [503, "maintenance"], [404, JSON.stringify({ error: "not_found" })]] as const) {
    answer = { status, body };
    asked.length = 0;
    const r = await sync();
    expect([r.status, r.json?.batches, r.json?.revoked_edge_keys], `${status} ${body}`).toEqual([0, 0, undefined]);
    expect(asked[0]).toBe("GET /v1/keys");
    expect(await stored(dir)).toEqual({ keys: [ref(current)] }); // still due: no checked_at
  }

  // The edge's list: the new key, and the old one revoked by it.
  answer = { status: 200, body: JSON.stringify({ keys: [ref(next), { ...ref(current), revocation: revokeEdgeKey(ref(current), ref(next), next.secretKey) }] }) };
  const before = Date.now();
  const read = await sync();
  expect([read.status, read.json?.revoked_edge_keys]).toEqual([0, [ref(current).key_id]]);
  const after = await stored(dir);
  expect([after.keys.map((k) => k.key_id), after.revoked?.map((k) => k.key_id)]).toEqual([[ref(next).key_id], [ref(current).key_id]]);
  expect(Date.parse(after.checked_at!)).toBeGreaterThanOrEqual(before);

  // Read today: the next pass asks nothing of /v1/keys.
  asked.length = 0;
  expect((await sync()).status).toBe(0);
  expect(asked).not.toContain("GET /v1/keys");
});
