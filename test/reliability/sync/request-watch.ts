// A pass-through HTTP proxy that changes nothing and only watches: how many requests it has seen
// and how many are in flight right now. The kill-during-sync loop asks it, at the moment of each
// kill -9, whether the collector was before its first request, inside one, or between/after them.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RequestWatch {
  url: string;
  /** Requests received so far. */
  seen(): number;
  /** Requests received whose answer has not been fully sent (or that were cut off) yet. */
  inFlight(): number;
  /** Calls `listener` once, when the next request arrives. */
  onNextRequest(listener: () => void): void;
  close(): Promise<void>;
}

export async function startRequestWatch(upstream: string): Promise<RequestWatch> {
  const target = new URL(upstream);
  let seen = 0;
  let inFlight = 0;
  let waiting: Array<() => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen++;
    inFlight++;
    const listeners = waiting;
    waiting = [];
    for (const listener of listeners) listener();
    let open = true;
    const done = () => { if (open) { open = false; inFlight--; } };
    res.once("close", done);
    const up = request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } });
    up.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // The collector was killed mid-request (or the edge hung up): end both sides.
    up.on("error", () => res.destroy());
    req.on("error", () => up.destroy());
    req.on("aborted", () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen: () => seen,
    inFlight: () => inFlight,
    onNextRequest: (listener) => void waiting.push(listener),
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
