// A real, tiny HTTP proxy for tests, as a corporate one behaves: absolute-form requests
// (`POST http://edge/v1/… HTTP/1.1`) are forwarded, `CONNECT host:port` opens a TCP tunnel (what
// an https:// target goes through). It records what it was asked, so a test can tell which way a
// client came — and that it came at all.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

export interface ProxySeen { method: string; target: string }

export interface TestProxy {
  url: string;
  seen: ProxySeen[];
  stop(): Promise<void>;
}

/** What the proxy answers itself instead of forwarding (a policy block, a WAF challenge). */
export interface ProxyAnswer { status: number; contentType: string; body: string }

/** `answer`: asked for every absolute-form request; what it returns is answered without forwarding. */
export async function startHttpProxy(options: { answer?: (seen: ProxySeen) => ProxyAnswer | undefined } = {}): Promise<TestProxy> {
  const seen: ProxySeen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const asked = { method: req.method ?? "", target: req.url ?? "" };
    seen.push(asked);
    const own = options.answer?.(asked);
    if (own) {
      req.resume();
      res.writeHead(own.status, { "content-type": own.contentType }).end(own.body);
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("absolute-form request expected\n");
      return;
    }
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    const upstream = request({ host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (e) => res.writeHead(502).end(`proxy: ${e.message}\n`));
    req.pipe(upstream);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push({ method: "CONNECT", target: req.url ?? "" });
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host!, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const end = () => { upstream.destroy(); client.destroy(); };
    upstream.on("error", () => { client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"); end(); });
    client.on("error", end);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
