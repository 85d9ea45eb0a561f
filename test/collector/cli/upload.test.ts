// `upload` on the connected machine (collector/sync/bundle-upload.ts): an export's bundles read and
// put in chain order whatever order they are given, each reply written byte for byte beside its
// bundle (or into --out-dir), a refusal stopping the upload with the edge's code and the files
// done named, a file that is not a bundle refusing the call before anything is sent. The edge here
// is a small real HTTP server that answers as the bundle route does (the real edge: e2e/air-gapped).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainOrder, readTrip, replyFileName } from "../../../collector/sync/bundle-upload.ts";
import { appendHourlyUsage } from "../../support/site-usage.ts";
import { cli, enrolledState } from "./cli-io.ts";

const dir = await mkdtemp(join(tmpdir(), "tally-upload-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 10, 1);

interface Seen { path: string; encoding: string | undefined; firstSeq: number }
type Answer = (bundle: { batches: { records: { seq: number }[] }[] }, n: number) => { status: number; text: string };

/** An HTTP server on a free port; `answer` decides each reply, every request is recorded. */
async function edgeAnswering(answer: Answer): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const bundle = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString("utf8"));
      seen.push({ path: req.url!, encoding: req.headers["content-encoding"], firstSeq: bundle.batches[0].records[0].seq });
      const { status, text } = answer(bundle, seen.length);
      res.writeHead(status, { "content-type": status === 403 ? "text/html" : "application/json" }).end(text);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((ok) => server.close(() => ok())) };
}

/** What the edge answers to an applied bundle, with odd spacing: the reply must be kept as sent. */
const receipted = (bundle: { batches: { records: { seq: number }[] }[] }, ackedAtLeast = 0) =>
  `{"receipts": [${bundle.batches.map((b) => `{"receipt":{"acked_seq":${Math.max(ackedAtLeast, b.records.at(-1)!.seq)}},"signature":"00"}`).join(",")}],  "edge_keys":[]}`;

let files: string[];
let collectorId: string;
beforeAll(async () => {
  const state = join(dir, "site");
  await enrolledState(state);
  await appendHourlyUsage(state, 120, T0);
  await mkdir(join(dir, "usb"));
  const run = await cli(["export", "--out", join(dir, "usb", "trip.json"), "--max-bytes", "8192", "--state", state, "--json"]);
  expect(run.status, run.stderr).toBe(0);
  files = run.json!.files as string[];
  collectorId = "col_cli_test";
  expect(files.length).toBeGreaterThanOrEqual(3);
});

const shuffled = () => [files[2]!, ...files.slice(3), files[0]!, files[1]!];
const flags = ["--attempts", "3", "--backoff-base-ms", "1", "--backoff-max-ms", "2", "--json"];

describe("upload", () => {
  it("reads the files in chain order whatever order they are given, and names each reply after its bundle", async () => {
    expect(chainOrder(await readTrip(shuffled())).map((b) => b.file)).toEqual(files);
    expect(replyFileName("/usb/trip-2.json")).toBe("/usb/reply-trip-2.json");
    expect(replyFileName("/usb/trip-2.json", "/out")).toBe("/out/reply-trip-2.json");
  });

  it("uploads them one after the other in that order, gzip, retrying a 503, and writes every reply exactly as sent", async () => {
    const edge = await edgeAnswering((bundle, n) => (n === 2 ? { status: 503, text: "busy" } : { status: 200, text: receipted(bundle) }));
    try {
      const out = join(dir, "replies-1");
      await mkdir(out);
      const run = await cli(["upload", "--server", edge.url, "--out-dir", out, ...flags, ...shuffled()], { TALLY_JITTER_SEED: "7" });
      expect(run.status, run.stderr).toBe(0);
      expect(edge.seen.map((s) => [s.path, s.encoding])).toEqual(edge.seen.map(() => [`/v1/collectors/${collectorId}/bundles`, "gzip"]));
      const firsts = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, "utf8")).batches[0].records[0].seq));
      expect(edge.seen.map((s) => s.firstSeq)).toEqual([firsts[0], firsts[1], firsts[1], ...firsts.slice(2)]); // the 503 retried
      expect(run.stderr).toMatch(/edge unreachable \(POST .* HTTP 503\); attempt 2\/3/);
      // Each bundle is told as it is receipted, in order.
      expect([...run.stderr.matchAll(/^upload: (\d+)\/(\d+) (\S+) \(seq \d+…\d+\) receipted in \d+\.\d s$/gm)].map((m) => [Number(m[1]), Number(m[2]), m[3]]))
        .toEqual(files.map((f, i) => [i + 1, files.length, f]));
      const replies = run.json!.replies as string[];
      expect(replies).toEqual(files.map((f) => replyFileName(f, out)));
      for (const [i, f] of files.entries()) expect(await readFile(replies[i]!, "utf8")).toBe(receipted(JSON.parse(await readFile(f, "utf8"))));
      expect(run.json).toMatchObject({ ok: true, not_uploaded: [], uploaded: files.map((file) => ({ file, status: 200 })) });
    } finally {
      await edge.close();
    }
  });

  it("stops at the first refusal with the edge's code, writes that reply, and names the files done and not tried", async () => {
    const third = JSON.parse(await readFile(files[2]!, "utf8")).batches[0].records[0].seq as number;
    const edge = await edgeAnswering((bundle, n) => (n === 3
      ? { status: 409, text: JSON.stringify({ receipts: [], edge_keys: [], error: "gap", message: `expected seq 7, got ${third}`, batch_index: 0, expected_seq: 7 }) }
      : { status: 200, text: receipted(bundle) }));
    try {
      const run = await cli(["upload", "--server", edge.url, ...flags, ...shuffled()]);
      expect(run.status).toBe(1);
      expect(run.json).toMatchObject({
        ok: false, error: "batch_refused", edge_error: "gap", expected_seq: 7, refused_reply: replyFileName(files[2]!),
        uploaded: [{ file: files[0] }, { file: files[1] }], not_uploaded: files.slice(3),
      });
      expect(run.stderr).toMatch(/gap: expected seq 7.*the bundle holding seq 7 is not among these files.*uploaded before it: .*trip\.json, .*trip-2\.json/);
      expect(JSON.parse(await readFile(replyFileName(files[2]!), "utf8"))).toMatchObject({ error: "gap", expected_seq: 7 });
      expect(edge.seen.length).toBe(3);
    } finally {
      await edge.close();
    }
  });

  it("an edge that stops answering: exit 3 once the attempts are spent, naming the files uploaded and the rest", async () => {
    const edge = await edgeAnswering((bundle, n) => (n === 1 ? { status: 200, text: receipted(bundle) } : { status: 503, text: "down" }));
    try {
      const out = join(dir, "replies-down");
      await mkdir(out);
      const run = await cli(["upload", "--server", edge.url, "--out-dir", out, ...flags, ...shuffled()]);
      expect(run.status).toBe(3);
      expect(run.json).toMatchObject({ ok: false, error: "edge_unreachable", uploaded: [{ file: files[0] }], replies: [replyFileName(files[0]!, out)], not_uploaded: files.slice(1) });
      expect(edge.seen.length).toBe(1 + 3); // one attempt for the first, --attempts 3 for the second
      expect(await readdir(out)).toEqual([replyFileName(files[0]!, out).split("/").at(-1)]);
    } finally {
      await edge.close();
    }
  });

  it("an answer that is not the edge's (a proxy's page) stops the upload and is not written as a reply", async () => {
    const edge = await edgeAnswering(() => ({ status: 403, text: "<html>blocked by policy</html>" }));
    try {
      const out = join(dir, "replies-proxy");
      await mkdir(out);
      const run = await cli(["upload", "--server", edge.url, "--out-dir", out, ...flags, files[0]!]);
      expect(run.status).toBe(1);
      expect(run.json).toMatchObject({ error: "batch_refused", edge_error: "http_403", refused_reply: null, uploaded: [] });
      expect(await readdir(out)).toEqual([]);
    } finally {
      await edge.close();
    }
  });

  it("refuses before sending anything: a file that is not a bundle, bundles of two sites, a state dir, no server", async () => {
    const edge = await edgeAnswering((bundle) => ({ status: 200, text: receipted(bundle) }));
    try {
      const notBundle = join(dir, "notes.json");
      await writeFile(notBundle, JSON.stringify({ receipts: [] }));
      const other = join(dir, "other.json");
      await writeFile(other, (await readFile(files[0]!, "utf8")).replaceAll(collectorId, "col_other_site"));
      const before = await readdir(join(dir, "usb"));
      for (const [argv, code] of [
        [[...files, notBundle], "bad_input"], [[files[0]!, other], "bad_input"], [[files[0]!, join(dir, "missing.json")], "bad_input"],
        [["--state", dir, files[0]!], "usage"], [["--server", "ftp://x", files[0]!], "usage"],
      ] as const) {
        const run = await cli(["upload", ...(argv.includes("--server") ? [] : ["--server", edge.url]), ...flags, ...argv]);
        expect([run.status, run.json?.error], run.stderr).toEqual([2, code]);
      }
      expect(edge.seen).toEqual([]);
      expect(await readdir(join(dir, "usb"))).toEqual(before);
    } finally {
      await edge.close();
    }
  });
});
