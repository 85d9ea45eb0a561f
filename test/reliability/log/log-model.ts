// What the log's callers were told, and the check that a log reopened after a crash still keeps
// it: every entry whose append() resolved is there byte for byte, the cursor is not below any
// acknowledge() that resolved, and nothing appears that was never appended.
import { expect } from "vitest";
import { LogError } from "../../../collector/log/errors.ts";
import { HEADER_BYTES } from "../../../collector/log/frame.ts";
import type { TornReason } from "../../../collector/log/segment-scan.ts";
import { scanSegment } from "../../../collector/log/segment-scan.ts";
import { SegmentLog, type RecoveryReport } from "../../../collector/log/segment-log.ts";
import type { SimulatedDisk } from "./simulated-disk.ts";

export const LOG_DIR = "/site/state/log";

export type Outcome = { kind: "opened"; droppedTail: TornReason | null } | { kind: "corrupt"; error: LogError };

export class LogModel {
  /** Entries the log vouched for: append() resolved, or a reopen recovered them. */
  readonly committed = new Map<number, Uint8Array>();
  /** Every payload ever handed to append() for a seq (a failed batch's seq is reused). */
  readonly attempted = new Map<number, Uint8Array[]>();
  ackedAtLeast = 0;
  ackedAtMost = 0;

  async append(log: SegmentLog, payloads: Uint8Array[]): Promise<void> {
    const first = log.lastSeq() + 1;
    payloads.forEach((payload, i) => this.attempted.set(first + i, [...(this.attempted.get(first + i) ?? []), payload]));
    const result = await log.append(payloads);
    expect(result).toEqual({ firstSeq: first, lastSeq: first + payloads.length - 1 });
    payloads.forEach((payload, i) => this.committed.set(first + i, payload));
  }

  async acknowledge(log: SegmentLog, seq: number): Promise<void> {
    this.ackedAtMost = Math.max(this.ackedAtMost, seq);
    await log.acknowledge(seq, { acked_seq: seq });
    this.ackedAtLeast = Math.max(this.ackedAtLeast, seq);
  }

  lastCommitted(): number {
    return Math.max(0, ...this.committed.keys());
  }

  /** Opens the log on `disk` and checks it against this model; on success the log is returned
   *  open and the model adopts what it recovered (the log now treats it as committed). */
  async reopen(disk: SimulatedDisk, segmentBytes: number): Promise<{ outcome: Outcome; log: SegmentLog | null }> {
    let opened: Awaited<ReturnType<typeof SegmentLog.open>>;
    try {
      opened = await SegmentLog.open(LOG_DIR, { fs: disk, segmentBytes });
    } catch (e) {
      if (!(e instanceof LogError) || e.code !== "log_corrupt") throw e;
      this.expectCommittedOnDisk(disk);
      return { outcome: { kind: "corrupt", error: e }, log: null };
    }
    const { log, recovery } = opened;
    try {
      await this.#check(log, recovery);
    } catch (e) {
      await log.close().catch(() => undefined);
      throw e;
    }
    return { outcome: { kind: "opened", droppedTail: recovery.droppedTail?.reason ?? null }, log };
  }

  async #check(log: SegmentLog, recovery: RecoveryReport): Promise<void> {
    expect(recovery.ackedSeq, "cursor went below an acknowledged seq").toBeGreaterThanOrEqual(this.ackedAtLeast);
    expect(recovery.ackedSeq).toBeLessThanOrEqual(this.ackedAtMost);
    expect(recovery.firstSeq, "a segment was released above the persisted cursor").toBeLessThanOrEqual(recovery.ackedSeq + 1);
    expect(recovery.lastSeq, "an appended entry is missing at the end").toBeGreaterThanOrEqual(this.lastCommitted());
    const entries = [];
    for (let seq = recovery.firstSeq; seq <= recovery.lastSeq;) {
      const batch = await log.read(seq, { maxCount: 10_000, maxBytes: 64 * 1024 * 1024 });
      entries.push(...batch);
      seq = batch[batch.length - 1]!.seq + 1;
    }
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: recovery.lastSeq - recovery.firstSeq + 1 }, (_, i) => recovery.firstSeq + i));
    for (const { seq, payload } of entries) {
      const committed = this.committed.get(seq);
      if (committed) expect(hex(payload), `entry ${seq} differs from what append() reported`).toBe(hex(committed));
      else expect((this.attempted.get(seq) ?? []).map(hex), `entry ${seq} was never appended`).toContain(hex(payload));
    }
    for (const seq of this.committed.keys()) if (seq > recovery.lastSeq) this.committed.delete(seq);
    for (const { seq, payload } of entries) this.committed.set(seq, payload);
    this.ackedAtLeast = recovery.ackedSeq;
  }

  /** Open refused the log: the committed entries above the cursor must still be intact in the
   *  raw segment bytes (open changes no byte, so `collector verify` and an operator can act). */
  expectCommittedOnDisk(disk: SimulatedDisk): void {
    const files = disk.files(LOG_DIR);
    const cursor = files.get("cursor.json");
    const acked = cursor ? (JSON.parse(new TextDecoder().decode(cursor)) as { acked_seq: number }).acked_seq : 0;
    expect(acked).toBeGreaterThanOrEqual(this.ackedAtLeast);
    const found = new Map<number, string>();
    for (const [name, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!name.startsWith("seg-")) continue;
      const firstSeq = Number(name.slice(4, -4));
      const scan = scanSegment(bytes, firstSeq);
      for (let at = 0, i = 0; i < scan.entries; i++) {
        const length = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4).getUint32(0, true);
        found.set(firstSeq + i, hex(bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length)));
        at += HEADER_BYTES + length;
      }
    }
    for (const [seq, payload] of this.committed) {
      if (seq > acked) expect(found.get(seq), `committed entry ${seq} is not intact on disk`).toBe(hex(payload));
    }
  }
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}
