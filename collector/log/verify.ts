// `collector verify` for the log: re-read every segment and compare it with what the open log
// has committed. Reports damage instead of throwing, so the CLI can print it and exit 1.
import { LogError } from "./errors.ts";
import type { LogFs } from "./log-fs.ts";
import { scanLog, type SegmentState } from "./log-scan.ts";
import { listSegments } from "./segment-files.ts";

export interface VerifyReport {
  ok: boolean;
  /** The first damage found (a `log_corrupt` error's fields), or null. */
  damage: null | { code: string; segment: string | undefined; offset: number | undefined; message: string };
  firstSeq: number;
  lastSeq: number;
  ackedSeq: number;
  segments: Array<{ name: string; firstSeq: number; lastSeq: number; bytes: number }>;
}

export async function verifyLog(fs: LogFs, dir: string, committed: readonly SegmentState[], ackedSeq: number): Promise<VerifyReport> {
  const report = (damage: VerifyReport["damage"]): VerifyReport => {
    const first = committed[0]!;
    const last = committed[committed.length - 1]!;
    return {
      ok: damage === null, damage, firstSeq: first.firstSeq, lastSeq: last.firstSeq + last.entries - 1, ackedSeq,
      segments: committed.map((s) => ({ name: s.name, firstSeq: s.firstSeq, lastSeq: s.firstSeq + s.entries - 1, bytes: s.size })),
    };
  };
  try {
    const { segments } = await scanLog(fs, dir, await listSegments(fs, dir), ackedSeq, { allowTornTail: false, useIndex: false });
    for (let i = 0; i < Math.max(segments.length, committed.length); i++) {
      const found = segments[i];
      const expected = committed[i];
      if (found?.name !== expected?.name) {
        const name = expected?.name ?? found!.name;
        return report({ code: "log_corrupt", segment: name, offset: 0, message: expected ? `${name} is missing` : `${name} was not written by this log` });
      }
      if (found!.size !== expected!.size) {
        return report({ code: "log_corrupt", segment: found!.name, offset: Math.min(found!.size, expected!.size), message: `${found!.name} holds ${found!.size} bytes of frames, ${expected!.size} were committed` });
      }
    }
    return report(null);
  } catch (e) {
    if (!(e instanceof LogError)) throw e;
    return report({ code: e.code, segment: e.segment, offset: e.offset, message: e.message });
  }
}
