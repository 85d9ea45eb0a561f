// One benchmark figure, printed as a table row or (with --json) one JSON line (DESIGN.md §10).
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baseline_value: number;
  /** Oriented so that higher is better: throughput ÷ baseline throughput, baseline latency ÷ latency. */
  ratio: number;
  /** Anything else worth printing (peak RSS, sizes). */
  notes?: string;
}

export type BenchSuite = () => Promise<BenchFigure[]>;

export function throughputFigure(name: string, unit: string, value: number, baseline: string, baselineValue: number, notes?: string): BenchFigure {
  return { name, value, unit, baseline, baseline_value: baselineValue, ratio: value / baselineValue, ...(notes ? { notes } : {}) };
}

export function latencyFigure(name: string, unit: string, value: number, baseline: string, baselineValue: number, notes?: string): BenchFigure {
  return { name, value, unit, baseline, baseline_value: baselineValue, ratio: baselineValue / value, ...(notes ? { notes } : {}) };
}
