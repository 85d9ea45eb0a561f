// A reverse proxy in front of a local edge that a test can close and open — the site's link going
// down for months and coming back — and that counts the requests that got through, per route
// (so a test can tell that a collector stopped knocking). Closed, it drops every connection at
// once, as an unplugged WAN link answers a site behind a firewall: the collector sees the edge
// unreachable.
import { createServer, request } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface EdgeGate {
  url: string;
  open: boolean;
  /** Closes the gate: connections in use are cut too. */
  shut(): void;
  /** "METHOD /path" → requests forwarded while open. */
  forwarded: Map<string, number>;
  count(prefix: string): number;
  stop(): Promise<void>;
}

export async function startEdgeGate(edgeUrl: string): Promise<EdgeGate> {
  const upstream = new URL(edgeUrl);
  const sockets = new Set<Socket>();
  const gate: EdgeGate = {
    url: "", open: true, forwarded: new Map(),
    shut: () => {
      gate.open = false;
      for (const s of sockets) s.destroy();
    },
    count: (prefix) => [...gate.forwarded].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    if (!gate.open) {
      req.socket.destroy();
      return;
    }
    const route = `${req.method} ${(req.url ?? "").replace(/col_[A-Za-z0-9_-]+/, ":id")}`;
    gate.forwarded.set(route, (gate.forwarded.get(route) ?? 0) + 1);
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => req.socket.destroy());
    req.pipe(forward);
  });
  server.on("connection", (s: Socket) => {
    if (!gate.open) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gate;
}
