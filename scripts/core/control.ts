// The running core's control socket (a Unix socket beside the data dir, mode 0600): how `core
// backup` asks the core it runs beside to hold new requests while it pins its snapshot. One JSON
// object per line each way:
//   → {"op":"hold"}      ← {"ok":true,"waited_ms":…} once nothing is in flight (or {"error":…})
//   → {"op":"release"}   ← {"ok":true}
//   → {"op":"status"}    ← {"ok":true,"pid":…,"url":…,"in_flight":…,"build":…}
// A hold ends when released, when the client disconnects, or after `maxHoldMs` — a backup that
// dies can never leave the core holding requests.
import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoreLog } from "./core-log.ts";
import type { Front } from "./front.ts";

export const MAX_HOLD_MS = 30_000;

/** DIR/core.sock, or a path under the temp dir when DIR is too long for a Unix socket name. */
export function socketPath(dataRoot: string): string {
  const inDir = join(dataRoot, "core.sock");
  if (Buffer.byteLength(inDir) < 100) return inDir;
  return join(tmpdir(), `tally-core-${createHash("sha256").update(dataRoot).digest("hex").slice(0, 16)}.sock`);
}

export interface ControlServer { close(): Promise<void> }

export async function startControl(path: string, front: Front, status: () => Record<string, unknown>, log: CoreLog, maxHoldMs = MAX_HOLD_MS): Promise<ControlServer> {
  rmSync(path, { force: true });
  // One hold at a time: a second backup waits for the first instead of releasing its hold.
  let holder: Socket | undefined;
  const server: Server = createServer((socket: Socket) => {
    let holding = false;
    let timer: NodeJS.Timeout | undefined;
    const reply = (body: Record<string, unknown>) => socket.writable && socket.write(JSON.stringify(body) + "\n");
    const endHold = (why: string) => {
      if (!holding) return;
      holding = false;
      holder = undefined;
      clearTimeout(timer);
      front.release();
      log.write({ event: "hold_released", reason: why });
    };
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", async (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let op: string | undefined;
        try {
          op = (JSON.parse(line) as { op?: string }).op;
        } catch { /* answered below */ }
        if (op === "hold" && holder !== undefined) {
          reply({ error: "busy", message: "another client holds the core (a backup in progress)" });
        } else if (op === "hold") {
          holding = true;
          holder = socket;
          const started = Date.now();
          log.write({ event: "hold", in_flight: front.inFlight() });
          timer = setTimeout(() => {
            endHold("timeout");
            reply({ error: "hold_timeout", message: `held for ${maxHoldMs} ms: released` });
          }, maxHoldMs);
          await front.hold();
          if (holding) reply({ ok: true, waited_ms: Date.now() - started });
        } else if (op === "release") {
          endHold("released");
          reply({ ok: true });
        } else if (op === "status") {
          reply({ ok: true, ...status(), in_flight: front.inFlight() });
        } else {
          reply({ error: "bad_request", message: `unknown op in ${JSON.stringify(line).slice(0, 80)}` });
        }
      }
    });
    socket.on("close", () => endHold("client_gone"));
    socket.on("error", () => endHold("client_error"));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen({ path, readableAll: false, writableAll: false }, () => ok());
  });
  chmodSync(path, 0o600);
  return { close: () => new Promise<void>((ok) => server.close(() => { rmSync(path, { force: true }); ok(); })) };
}

/** A client for the socket: send one op, read one answer. */
export interface ControlClient {
  ask(op: string): Promise<Record<string, unknown>>;
  close(): void;
}

export function connectControl(path: string): Promise<ControlClient> {
  return new Promise((ok, fail) => {
    const socket = createConnection(path);
    socket.setEncoding("utf8");
    let buffered = "";
    const waiting: Array<(answer: Record<string, unknown>) => void> = [];
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        waiting.shift()?.(JSON.parse(line) as Record<string, unknown>);
      }
    });
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      socket.on("error", () => { for (const w of waiting.splice(0)) w({ error: "control_socket_error" }); });
      socket.on("close", () => { for (const w of waiting.splice(0)) w({ error: "control_socket_closed" }); });
      ok({
        ask: (op) => new Promise((answer) => {
          waiting.push(answer);
          socket.write(JSON.stringify({ op }) + "\n");
        }),
        close: () => socket.end(),
      });
    });
  });
}
