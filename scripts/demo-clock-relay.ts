// The demo sites' path to the edge: a loopback relay that forwards every request unchanged,
// except that while `npm start` replays past weeks it stamps each one with the simulated time
// (`X-Tally-Now`, which only a development or test edge accepts). That is how the history's
// periods close in order, each with its usage — as they would have, had the sites been syncing
// all along — instead of every period freezing empty before the first late batch arrives.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ClockRelay {
  url: string;
  /** The instant to stamp on requests from now on; null: none (the edge's own clock). */
  setNow(ms: number | null): void;
  close(): Promise<void>;
}

export async function startClockRelay(edge: string, port = 0): Promise<ClockRelay> {
  const target = new URL(edge);
  let now: number | null = null;
  const server: Server = createServer((req, res) => {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
    if (now !== null) headers["x-tally-now"] = String(now);
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "internal", message: `relay: ${error.message}` }));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => ok());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setNow: (ms) => { now = ms; },
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
