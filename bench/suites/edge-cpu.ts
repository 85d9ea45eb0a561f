// The edge's CPU per request, by kind (bench/profile/edge-mix.ts): the refusals the
// malformed-input fuzz sends most, an accepted signed batch (20 records), a balance read and a
// usage read, each beside GET /health measured in the same run on the same edge. Two figures per
// kind, over EDGE_CPU_N sequential requests of it, divided by N:
//   - isolate: the Worker's V8 isolate busy time from a CPU profile (bench/profile/cdp.ts), what
//     Workers bills and limits (the Worker and its Durable Object share the isolate locally);
//   - workerd: the runtime process's user + system CPU (/proc/<pid>/stat, a pass without the
//     profiler): the isolate plus what it calls locally (miniflare's D1 and Durable Object
//     storage, its own entry worker), not wrangler's proxy in front.
// `bench/profile/edge-cpu-profile.ts` shows where the isolate's time goes. Linux only (/proc).
import { readFileSync, readdirSync } from "node:fs";
import { startLocalEdge, type LocalEdge } from "../../test/support/local-edge.ts";
import { edgeMix, send, type RequestKind } from "../profile/edge-mix.ts";
import { busyMs, inspector, type CpuProfile } from "../profile/cdp.ts";
import { latencyFigure, type BenchFigure } from "../figure.ts";

const N = Number(process.env.EDGE_CPU_N ?? 300);
const TICK_MS = 10; // USER_HZ is 100 on Linux

function procs(): Array<{ pid: string; args: string[] }> {
  const out: Array<{ pid: string; args: string[] }> = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      out.push({ pid, args: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") });
    } catch {
      // gone
    }
  }
  return out;
}

const pgid = (pid: string) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]!;

/** The workerd that runs the Worker (the one with the inspector) in the edge's process group. */
function runtimePid(edge: LocalEdge): string {
  const all = procs();
  const wrangler = all.find((p) => p.args.includes("--persist-to") && p.args.includes(edge.persistDir));
  if (!wrangler) throw new Error("no wrangler process for this edge");
  const group = pgid(wrangler.pid);
  const workerd = all.find((p) => p.args[0]!.endsWith("/workerd") && p.args.some((a) => a.startsWith("--inspector-addr")) && pgid(p.pid) === group);
  if (!workerd) throw new Error("no workerd with an inspector in the edge's process group");
  return workerd.pid;
}

function cpuTicks(pid: string): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

/** The batches' outbox drain runs on a DO alarm about a second later: waited out, so its CPU is
 *  counted with the batches, not with the next kind. */
async function settle(kind: RequestKind): Promise<void> {
  if (kind.name.startsWith("batch POST, accepted")) await new Promise((ok) => setTimeout(ok, 3000));
}

export default async function edgeCpu(): Promise<BenchFigure[]> {
  const edge = await startLocalEdge({ runtime: "wrangler" }); // the inspector port, and the figures comparable with earlier runs
  try {
    // Each accepted batch is sent once: 10 to warm, N per pass, two passes.
    const mix = await edgeMix(edge, 2 * N + 10);
    const pid = runtimePid(edge);
    for (const kind of mix.kinds) for (let i = 0; i < 10; i++) await send(edge, kind, i);
    const workerd = new Map<string, number>();
    for (const kind of mix.kinds) {
      const t0 = cpuTicks(pid);
      for (let i = 10; i < 10 + N; i++) await send(edge, kind, i);
      await settle(kind);
      workerd.set(kind.name, ((cpuTicks(pid) - t0) * TICK_MS) / N);
    }
    const isolate = new Map<string, number>();
    const cdp = await inspector(edge.inspectorPort!);
    await cdp.call("Profiler.enable");
    await cdp.call("Profiler.setSamplingInterval", { interval: 100 });
    for (const kind of mix.kinds) {
      await cdp.call("Profiler.start");
      for (let i = 10 + N; i < 10 + 2 * N; i++) await send(edge, kind, i);
      await settle(kind);
      const { profile } = await cdp.call("Profiler.stop") as { profile: CpuProfile };
      isolate.set(kind.name, busyMs(profile) / N);
    }
    cdp.close();
    const [health, ...rest] = mix.kinds;
    return rest.flatMap((kind) => [
      latencyFigure(`isolate CPU per request: ${kind.name}`, "ms", isolate.get(kind.name)!, "GET /health, same edge", isolate.get(health!.name)!,
        `${N} sequential requests; V8 CPU profile of the Worker's isolate (busy samples × interval), wrangler dev`),
      latencyFigure(`workerd CPU per request: ${kind.name}`, "ms", workerd.get(kind.name)!, "GET /health, same edge", workerd.get(health!.name)!,
        `${N} sequential requests; runtime workerd user+sys CPU (/proc), incl. local D1/DO storage`),
    ]);
  } finally {
    await edge.stop();
  }
}
