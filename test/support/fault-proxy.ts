// A fault-injecting HTTP proxy on loopback: between a collector and a local edge it drops
// requests, drops responses after the edge applied them, answers 502/503, delays, duplicates
// requests and resets connections, driven by a seeded PRNG so a failing run replays.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { seededRandom } from "./seed.ts";

export interface FaultRates {
  dropRequest: number;
  dropResponse: number;
  badGateway: number;
  delayMs: number;
  duplicate: number;
  truncateBody: number;
}

export interface FaultProxy {
  url: string;
  counts: Record<keyof FaultRates | "forwarded", number>;
  /** Turn faults on or off (off: a plain proxy, to let the run converge). */
  setRates(rates: Partial<FaultRates>): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string, seed: number, rates: Partial<FaultRates>): Promise<FaultProxy> {
  const random = seededRandom(seed);
  let current: FaultRates = { dropRequest: 0, dropResponse: 0, badGateway: 0, delayMs: 0, duplicate: 0, truncateBody: 0, ...rates };
  const counts = { dropRequest: 0, dropResponse: 0, badGateway: 0, delayMs: 0, duplicate: 0, truncateBody: 0, forwarded: 0 };
  const target = new URL(upstream);

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const up = request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (current.delayMs > 0) { counts.delayMs++; await new Promise((r) => setTimeout(r, Math.floor(random() * current.delayMs))); }
    if (random() < current.dropRequest) { counts.dropRequest++; req.socket.destroy(); return; }
    if (random() < current.badGateway) {
      counts.badGateway++;
      res.writeHead(random() < 0.5 ? 502 : 503, { "content-type": "text/plain" }).end("upstream unavailable");
      return;
    }
    try {
      if (random() < current.duplicate) { counts.duplicate++; await forward(req, body); }
      const answer = await forward(req, body);
      counts.forwarded++;
      if (random() < current.dropResponse) { counts.dropResponse++; req.socket.destroy(); return; }
      if (random() < current.truncateBody && answer.body.length > 2) {
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
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setRates(r) { current = { ...current, ...r }; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
