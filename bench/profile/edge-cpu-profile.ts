// Bench aid only (not product code): a V8 CPU profile of the edge's isolate (workerd, through
// wrangler dev's inspector) per request kind of edge-mix.ts, over the Chrome DevTools Protocol.
//   npm exec -- node bench/profile/edge-cpu-profile.ts [dir]     (PROFILE_N requests per kind, default 200)
// Writes <dir>/<kind>.cpuprofile and <dir>/all.cpuprofile (open them in Chrome DevTools), and
// prints each kind's isolate CPU per request (samples not idle) and the top functions by self time
// (and, over every kind, by total time).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startLocalEdge } from "../../test/support/local-edge.ts";
import { edgeMix, send } from "./edge-mix.ts";
import { busyMs, inspector, selfShares, totalShares, type CpuProfile } from "./cdp.ts";

const N = Number(process.env.PROFILE_N ?? 200);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const dir = process.argv[2] ?? `/tmp/edge-cpu-profile-${Date.now()}`;

const edge = await startLocalEdge({ runtime: "wrangler" }); // the inspector port, and the figures comparable with earlier runs
try {
  const mix = await edgeMix(edge, N + 20);
  // Warm the isolate (module init, first-use caches) before anything is measured.
  for (const kind of mix.kinds) for (let i = 0; i < 10; i++) await send(edge, kind, i);
  const cdp = await inspector(edge.inspectorPort!);
  await cdp.call("Profiler.enable");
  await cdp.call("Profiler.setSamplingInterval", { interval: 100 });
  await mkdir(dir, { recursive: true });
  const all: CpuProfile[] = [];
  for (const kind of mix.kinds) {
    await cdp.call("Profiler.start");
    for (let i = 10; i < 10 + N; i++) await send(edge, kind, i);
    const { profile } = await cdp.call("Profiler.stop") as { profile: CpuProfile };
    all.push(profile);
    await writeFile(join(dir, `${kind.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.cpuprofile`), JSON.stringify(profile));
    console.log(`\n## ${kind.name}: ${(busyMs(profile) / N).toFixed(3)} ms isolate CPU per request (${N} requests)`);
    for (const [k, share] of selfShares(profile).slice(0, TOP)) console.log(`${(100 * share).toFixed(1).padStart(5)}% ${k}`);
  }
  // Every kind's profile in one for the overall top (same nodes per session: merge by sample).
  const merged = { ...all[0]!, nodes: all.flatMap((p, i) => p.nodes.map((n) => ({ ...n, id: n.id + i * 1e6 }))), samples: all.flatMap((p, i) => p.samples.map((s) => s + i * 1e6)), timeDeltas: all.flatMap((p) => p.timeDeltas) };
  await writeFile(join(dir, "all.cpuprofile"), JSON.stringify({ ...merged, nodes: merged.nodes.map((n) => ({ ...n, children: n.children?.map((c) => c + Math.floor(n.id / 1e6) * 1e6) })) }));
  console.log(`\n## every kind (${(busyMs(merged) / 1000).toFixed(2)} s busy)`);
  for (const [k, share] of selfShares(merged).slice(0, TOP)) console.log(`${(100 * share).toFixed(1).padStart(5)}% ${k}`);
  console.log("\n## every kind, total time (self and callees)");
  for (const [k, share] of totalShares(merged).slice(0, 2 * TOP)) console.log(`${(100 * share).toFixed(1).padStart(5)}% ${k}`);
  console.log(`\nprofiles in ${dir}`);
  cdp.close();
} finally {
  await edge.stop();
}
