// An https:// front for a local edge (wrangler dev speaks plain HTTP), with a certificate made for
// the test by openssl and trusted by the client through NODE_EXTRA_CA_CERTS — as a site trusts a
// corporate CA. Returns null when openssl is not installed (the caller skips, saying why).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface TlsFront {
  url: string;
  /** The self-signed certificate (PEM file) to trust. */
  certPath: string;
  stop(): Promise<void>;
}

export function makeCertificate(dir: string): { certPath: string; keyPath: string } | null {
  const certPath = join(dir, "edge-cert.pem");
  const keyPath = join(dir, "edge-key.pem");
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyPath, "-out", certPath,
      "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "pipe" });
  } catch {
    return null;
  }
  return { certPath, keyPath };
}

export async function startTlsFront(target: string, files: { certPath: string; keyPath: string }): Promise<TlsFront> {
  const upstream = new URL(target);
  const server = createServer({ cert: readFileSync(files.certPath), key: readFileSync(files.keyPath) }, (req, res) => {
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", (e) => res.writeHead(502).end(`front: ${e.message}\n`));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    certPath: files.certPath,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
