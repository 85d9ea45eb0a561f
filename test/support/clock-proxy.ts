// An HTTP proxy on loopback that stamps every request with the edge's injected clock
// (`X-Tally-Now`, honoured by development and test edges): it puts a real collector's traffic,
// and a test's reads, on a test clock without changing either, so one local edge can serve
// several instants at once (test/e2e/calendar-guard.test.ts).
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface ClockProxy { url: string; close(): Promise<void> }

export async function startClockProxy(upstream: string, now: () => number): Promise<ClockProxy> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const headers = { ...req.headers, "x-tally-now": String(Math.floor(now())) };
    const forward = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.once("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
