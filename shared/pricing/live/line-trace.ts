// Tracing a statement line to its records (DESIGN §7): the line's unit ranges (burn.ts) are laid
// over its segments' pieces in time order, and the records whose units fall in them are listed as
// runs of consecutive seqs of one source, paged. A line therefore names only the records that
// produced it: after a 99-unit grant, a 1-unit overage line lists the record(s) of the 100th unit.
// An adjustment lists the records in the corrected line that arrived late, in the period whose
// statement carries it. A page reads the pieces from the cursor on, never the whole history.
import type { UnitRange } from "../burn.ts";
import type { LiveStore, TracePiece } from "./store.ts";

export interface RecordRun { source: string; first_seq: number; last_seq: number }

/** Where the next page resumes: after piece (start, ref) of range `range`, at unit position `position`. */
export interface TraceCursor { range: number; start: number | null; ref: string | null; position: string }

export interface TracedLine {
  ranges: UnitRange[];
  /** The period whose statement carries the line: positions count what arrived by it. */
  period: number;
  /** Adjustments list only the records that arrived in `period`. */
  lateOnly: boolean;
}

function runKey(ref: string): { source: string; seq: number } {
  const at = ref.lastIndexOf(":");
  return { source: ref.slice(0, at), seq: Number(ref.slice(at + 1)) };
}

/** Whether a piece at unit position [from, from + units) counts for `range`. */
export function pieceInRange(piece: TracePiece, from: bigint, range: UnitRange, line: TracedLine): boolean {
  return piece.units > 0n && from + piece.units > range.from && from < range.to && (!line.lateOnly || piece.arrival === line.period);
}

export function traceLine(store: LiveStore, line: TracedLine, cursor: TraceCursor | null, limit: number): { runs: RecordRun[]; next: TraceCursor | null } {
  const runs: RecordRun[] = [];
  for (let r = cursor?.range ?? 0; r < line.ranges.length; r++) {
    const range = line.ranges[r]!;
    const resume = cursor !== null && cursor.range === r;
    let position = resume ? BigInt(cursor.position) : 0n;
    let after = resume && cursor.start !== null && cursor.ref !== null ? { start: cursor.start, ref: cursor.ref } : null;
    for (const piece of store.segmentPieces(range.segment, line.period, after)) {
      if (position >= range.to) break;
      const from = position;
      position += piece.units;
      if (pieceInRange(piece, from, range, line)) {
        const { source, seq } = runKey(piece.ref);
        const last = runs[runs.length - 1];
        if (last && last.source === source && (seq === last.last_seq || seq === last.last_seq + 1)) {
          last.last_seq = Math.max(last.last_seq, seq);
        } else {
          if (runs.length === limit) return { runs, next: { range: r, start: after?.start ?? null, ref: after?.ref ?? null, position: from.toString() } };
          runs.push({ source, first_seq: seq, last_seq: seq });
        }
      }
      after = { start: piece.start, ref: piece.ref };
    }
  }
  return { runs, next: null };
}
