// Usage written straight into a site's log, as the collector's own writer does (openSite): for
// e2e tests that need exact intervals rather than a simulated license server's.
import { openSite } from "../../collector/site.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import type { RecordBody } from "../../shared/protocol/index.ts";

const HOUR = 3600_000;

/** Appends `n` one-hour usage intervals (`count` licenses each) from `from`, in 2 KiB segments;
 *  `clock` stamps the records (the collector's clock seam; default the real clock). */
export async function appendHourlyUsage(dir: string, n: number, from: number, count = 1, clock?: () => number): Promise<void> {
  const site = await openSite(statePaths(dir), { segmentBytes: 2048, ...(clock ? { clock } : {}) });
  try {
    const bodies: RecordBody[] = [];
    for (let i = 0; i < n; i++) {
      const start = from + i * HOUR;
      bodies.push({ kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "ada", host: "ws-1", session: `s-${start}`, start, end: start + HOUR, count, final: true } });
    }
    await site.append(bodies);
  } finally {
    await site.close();
  }
}
