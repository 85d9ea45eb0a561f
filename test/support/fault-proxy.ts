// A fault-injecting HTTP proxy on loopback: between a collector and a local edge it drops
// requests, drops responses after the edge applied them, answers 502/503, delays (which reorders
// concurrent requests), duplicates requests (at once, or late: after the client has moved on),
// cuts requests off mid-body, truncates response bodies and resets connections, driven by a
// seeded PRNG so a failing run replays its dice (the interleaving of concurrent requests is the
// scheduler's). It can also record the bodies of batch POSTs the edge answered 200, so a test can
// replay them later.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { seededRandom } from "./seed.ts";

export interface FaultRates {
  dropRequest: number;
  dropResponse: number;
  badGateway: number;
  /** Upper bound of a uniformly drawn delay before each request is handled (0: none). */
  delayMs: number;
  duplicate: number;
  truncateBody: number;
  /** The edge receives the headers and part of the body, then both connections are reset. */
  resetMidRequest: number;
  /** A copy of the request is sent again up to `lateDuplicateMs` later, whatever happened since. */
  lateDuplicate: number;
  lateDuplicateMs: number;
}

export type FaultKind = Exclude<keyof FaultRates, "lateDuplicateMs">;

export interface CapturedBatch {
  path: string;
  /** The request body exactly as the client sent it. */
  body: Buffer;
  contentEncoding: string | undefined;
}

export interface FaultProxy {
  url: string;
  counts: Record<FaultKind | "forwarded", number>;
  /** Bodies of `POST …/batches` the edge answered 200 (only with `captureBatches`). */
  captured: CapturedBatch[];
  /** Turn faults on or off (off: a plain proxy, to let the run converge). */
  setRates(rates: Partial<FaultRates>): void;
  /**
   * The next requests get these faults, one each and in order, whatever the rates and without
   * rolling dice for them; the rates take over after. A test that must see every kind of fault
   * scripts them, since a short run's dice may roll none.
   */
  script(kinds: FaultKind[]): void;
  /** Forward to another upstream from now on (an edge restarted on another port, at the same address for the client). */
  retarget(upstream: string): void;
  /** Resolves when every late duplicate scheduled so far has reached the edge (or failed). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export const NO_FAULTS: FaultRates = {
  dropRequest: 0, dropResponse: 0, badGateway: 0, delayMs: 0, duplicate: 0, truncateBody: 0,
  resetMidRequest: 0, lateDuplicate: 0, lateDuplicateMs: 0,
};

/** The hostile network the e2e sync runs cross: every request rolls each of these. */
export const HOSTILE_RATES: Partial<FaultRates> = { dropRequest: 0.15, dropResponse: 0.2, badGateway: 0.1, duplicate: 0.15, truncateBody: 0.1, delayMs: 30 };
/** One of each kind HOSTILE_RATES rolls: scripted first (FaultProxy.script), so even a short run sees them all. */
export const EVERY_FAULT = ["dropRequest", "badGateway", "duplicate", "dropResponse", "truncateBody"] as const satisfies readonly FaultKind[];

interface Answer { status: number; headers: IncomingMessage["headers"]; body: Buffer }

export async function startFaultProxy(upstream: string, seed: number, rates: Partial<FaultRates>, options: { captureBatches?: boolean } = {}): Promise<FaultProxy> {
  const random = seededRandom(seed);
  let current: FaultRates = { ...NO_FAULTS, ...rates };
  const counts = {
    dropRequest: 0, dropResponse: 0, badGateway: 0, delayMs: 0, duplicate: 0, truncateBody: 0,
    resetMidRequest: 0, lateDuplicate: 0, forwarded: 0,
  };
  const captured: CapturedBatch[] = [];
  const scripted: FaultKind[] = [];
  const late = new Set<Promise<unknown>>();
  let target = new URL(upstream);

  const upstreamRequest = (req: IncomingMessage) =>
    request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } });

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const up = upstreamRequest(req);
      up.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });

  /** Sends the headers and a prefix of the body, then resets the upstream connection. */
  const cutOff = (req: IncomingMessage, body: Buffer) =>
    new Promise<void>((resolve) => {
      const up = upstreamRequest(req);
      up.on("error", () => resolve());
      up.on("close", () => resolve());
      up.write(body.subarray(0, Math.floor(random() * body.length)), () => setTimeout(() => up.destroy(), 5));
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const forced = scripted.shift();
    /** Whether this request gets `kind`: the scripted fault if there is one, else the dice. */
    const roll = (kind: Exclude<FaultKind, "delayMs">) => forced !== undefined ? forced === kind : random() < current[kind];
    if (current.delayMs > 0) { counts.delayMs++; await new Promise((r) => setTimeout(r, Math.floor(random() * current.delayMs))); }
    if (roll("dropRequest")) { counts.dropRequest++; req.socket.destroy(); return; }
    if (roll("badGateway")) {
      counts.badGateway++;
      res.writeHead(random() < 0.5 ? 502 : 503, { "content-type": "text/plain" }).end("upstream unavailable");
      return;
    }
    if (body.length > 1 && roll("resetMidRequest")) {
      counts.resetMidRequest++;
      await cutOff(req, body);
      req.socket.destroy();
      return;
    }
    if (roll("lateDuplicate")) {
      counts.lateDuplicate++;
      const copy = new Promise((r) => setTimeout(r, Math.floor(random() * current.lateDuplicateMs)))
        .then(() => forward(req, body)).catch(() => undefined);
      late.add(copy);
      void copy.finally(() => late.delete(copy));
    }
    try {
      if (roll("duplicate")) { counts.duplicate++; await forward(req, body); }
      const answer = await forward(req, body);
      counts.forwarded++;
      if (options.captureBatches && req.method === "POST" && answer.status === 200 && /\/batches$/.test(req.url ?? "")) {
        const encoding = req.headers["content-encoding"];
        captured.push({ path: req.url!, body, contentEncoding: typeof encoding === "string" ? encoding : undefined });
      }
      if (roll("dropResponse")) { counts.dropResponse++; req.socket.destroy(); return; }
      if (answer.body.length > 2 && roll("truncateBody")) {
        counts.truncateBody++;
        res.writeHead(answer.status, { "content-type": String(answer.headers["content-type"] ?? "application/json"), "content-length": answer.body.length });
        res.write(answer.body.subarray(0, answer.body.length >> 1));
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(answer.headers)) if (typeof v === "string" && k !== "transfer-encoding" && k !== "connection") headers[k] = v;
      res.writeHead(answer.status, headers).end(answer.body);
    } catch {
      res.writeHead(502).end("proxy error");
    }
  };

  const server: Server = createServer((req, res) => { void handle(req, res); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const settle = async () => { while (late.size > 0) await Promise.all([...late]); };
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    captured,
    setRates(r) { current = { ...current, ...r }; },
    script(kinds) { scripted.push(...kinds); },
    retarget(next) { target = new URL(next); },
    settle,
    close: async () => {
      await settle();
      await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
    },
  };
}
