// Bench aid only (not product code): workerd's V8 inspector over the Chrome DevTools Protocol
// (wrangler dev's --inspector-port, LocalEdge.inspectorPort) and what a CPU profile says: the
// isolate's busy time and the self time by function. Used by edge-cpu-profile.ts and the edge-cpu bench.
interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** A CDP session over the inspector's WebSocket (Node 22's global WebSocket). */
export async function inspector(port: number): Promise<{ call(method: string, params?: object): Promise<any>; close(): void }> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>;
  // miniflare's inspector proxy wants a local Origin (undici's WebSocket takes extra headers).
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { origin: "http://localhost" } } as never);
  await new Promise((ok, fail) => { ws.addEventListener("open", ok); ws.addEventListener("error", fail); });
  const pending = new Map<number, { ok(v: unknown): void; fail(e: Error): void }>();
  ws.addEventListener("message", (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.fail(new Error(msg.error.message)); else p.ok(msg.result);
  });
  let next = 1;
  return {
    call: (method, params = {}) => new Promise((ok, fail) => {
      const id = next++;
      pending.set(id, { ok, fail });
      ws.send(JSON.stringify({ id, method, params }));
    }),
    close: () => ws.close(),
  };
}

// workerd's isolate thread is sampled only while it runs in V8 (no idle samples at the interval
// either), so a sample's timeDelta also spans the time the thread spent elsewhere (I/O waits,
// other isolates): a sample stands for one sampling interval instead — the median of the deltas
// inside bursts of samples (under 1 ms) — and shares are by sample count.
function interval(p: CpuProfile): number {
  const d = p.timeDeltas.filter((t) => t > 0 && t < 1000).sort((a, b) => a - b);
  return d[d.length >> 1] ?? 0;
}

const frameName = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").at(-1)}:${n.callFrame.lineNumber + 1}`;

/** Samples by function (name file:line), idle ones left out. */
function selfSamples(p: CpuProfile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)") continue;
    const k = frameName(n);
    self.set(k, (self.get(k) ?? 0) + 1);
  }
  return self;
}

/** ms the isolate was busy (JS, GC, the runtime's work on the isolate's thread). */
export function busyMs(p: CpuProfile): number {
  return ([...selfSamples(p).values()].reduce((a, b) => a + b, 0) * interval(p)) / 1000;
}

/** Self time by function, as shares of the busy samples, largest first. */
export function selfShares(p: CpuProfile): Array<[string, number]> {
  const self = selfSamples(p);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self].map(([k, n]): [string, number] => [k, n / total]).sort((a, b) => b[1] - a[1]);
}

/** Total (self and callees) time by function, as shares of the busy samples, largest first. */
export function totalShares(p: CpuProfile): Array<[string, number]> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = new Map<string, number>();
  let busy = 0;
  for (const id of p.samples) {
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    busy++;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = frameName(byId.get(at)!);
      if (!seen.has(k)) { seen.add(k); total.set(k, (total.get(k) ?? 0) + 1); }
    }
  }
  return [...total].map(([k, n]): [string, number] => [k, n / busy]).sort((a, b) => b[1] - a[1]);
}
