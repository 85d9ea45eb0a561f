// The core's HTTP front: the one port clients reach, in front of workerd's loopback port. It
// streams every request to the Worker unchanged except for miniflare's own control surface,
// writes one JSON log line per request, counts requests in flight, and so can
//   - drain: stop accepting, let every request in flight finish (SIGTERM, serve.ts), and
//   - hold: queue new requests until the ones in flight finish, so a backup can take a
//     snapshot that no request straddles (backup.ts), then let the queue through.
// TLS is not here: a reverse proxy in front terminates it (docs/self-hosting.md).
import { Agent, createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CoreLog } from "./core-log.ts";

export interface Front {
  url: string;
  inFlight(): number;
  /** Queues new requests; resolves once nothing is in flight. */
  hold(): Promise<void>;
  release(): void;
  /** Stops accepting and waits (at most `timeoutMs`) for requests in flight; true when all ended. */
  drain(timeoutMs: number): Promise<boolean>;
}

/** Status tokens are capabilities: they never reach the log. */
export function loggedPath(url: string): string {
  const path = url.split("?")[0]!;
  return path.replace(/^\/status\/[^/]+/, "/status/…");
}

const INTERNAL_ERROR = JSON.stringify({ error: "internal", message: "internal error" });

export async function startFront(options: { host: string; port: number; upstream: URL; log: CoreLog }): Promise<Front> {
  const { log } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let inFlight = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let idle: Array<() => void> = [];
  let draining = false;

  const settle = () => {
    if (inFlight === 0) {
      for (const wake of idle) wake();
      idle = [];
    }
  };
  const whenIdle = () => new Promise<void>((ok) => {
    if (inFlight === 0) ok();
    else idle.push(ok);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let bytesIn = 0;
    let bytesOut = 0;
    res.once("close", () => {
      log.write({
        event: "request", method: req.method, path: loggedPath(req.url ?? "/"), status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10, bytes_in: bytesIn,
        bytes_out: bytesOut, remote: req.socket.remoteAddress,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    if (gate) await gate.promise;
    inFlight++;
    res.once("close", () => {
      inFlight--;
      settle();
    });
    if (draining) res.setHeader("connection", "close");
    // miniflare's local-only endpoints (/cdn-cgi/local/*: scheduled, platform proxy, explorer)
    // are not part of Tally's API and must not be reachable from outside.
    if ((req.url ?? "").startsWith("/cdn-cgi/")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found", message: "no such route" }));
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name.startsWith("mf-") || name.startsWith("cf-")) continue;
      headers[name] = value;
    }
    // Who connected, as Cloudflare would tell the Worker; never what the client claims.
    if (req.socket.remoteAddress) headers["cf-connecting-ip"] = req.socket.remoteAddress.replace(/^::ffff:/, "");
    headers["mf-disable-pretty-error"] = "true";
    const upstream = forward({ host: options.upstream.hostname, port: options.upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !name.startsWith("mf-")) out[name] = value;
      }
      if (answer.headers["mf-experimental-error-stack"] !== undefined) {
        // An exception the Worker did not catch: its stack stays in the log, not in the answer.
        log.write({ event: "uncaught_error", path: loggedPath(req.url ?? "/") });
        answer.resume();
        res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(INTERNAL_ERROR) }).end(INTERNAL_ERROR);
        return;
      }
      if (draining) out.connection = "close";
      res.writeHead(answer.statusCode ?? 502, out);
      answer.on("data", (chunk: Buffer) => (bytesOut += chunk.length));
      answer.pipe(res);
    });
    upstream.on("error", (error) => {
      log.write({ event: "upstream_error", path: loggedPath(req.url ?? "/"), message: error.message });
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ error: "unavailable", message: "the Worker runtime did not answer" }));
      else res.destroy();
    });
    req.on("aborted", () => upstream.destroy());
    // Counted only now: a listener attached while the request waited at the gate would have
    // started the body flowing before anything could take it.
    req.on("data", (chunk: Buffer) => (bytesIn += chunk.length));
    req.pipe(upstream);
  }

  const server: Server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((error: Error) => {
      log.write({ event: "front_error", message: error.message });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port, options.host, () => ok());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  const front: Front = {
    url: `http://${host}:${address.port}`,
    inFlight: () => inFlight,
    async hold() {
      if (!gate) {
        let open!: () => void;
        const promise = new Promise<void>((ok) => (open = ok));
        gate = { promise, open };
      }
      await whenIdle();
    },
    release() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
    async drain(timeoutMs) {
      draining = true;
      front.release();
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const done = await Promise.race([whenIdle().then(() => true), new Promise<boolean>((ok) => setTimeout(() => ok(false), timeoutMs).unref())]);
      server.closeAllConnections();
      await closed;
      agent.destroy();
      return done;
    },
  };
  return front;
}
