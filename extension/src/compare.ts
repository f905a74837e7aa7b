/** Compare runs: parameter diff, metrics with deltas to the first (oldest) run. Pure functions. */
import { Run } from './api';

export interface IParamRow {
  name: string;
  values: (string | null)[];
  differs: boolean;
}

export interface IMetricRow {
  name: string;
  values: (number | null)[];
  /** value minus the first run's value (null for the first run or a missing value) */
  deltas: (number | null)[];
}

export interface IComparison {
  /** the runs oldest first; the first is the baseline of the deltas */
  runs: Run[];
  params: IParamRow[];
  metrics: IMetricRow[];
}

function byStart(a: Run, b: Run): number {
  return (a.start_time ?? 0) - (b.start_time ?? 0);
}

export function compareRuns(runs: Run[]): IComparison {
  const ordered = [...runs].sort(byStart);
  const paramNames = new Set<string>();
  const metricNames = new Set<string>();
  for (const run of ordered) {
    Object.keys(run.params).forEach(p => paramNames.add(p));
    Object.keys(run.metrics).forEach(m => metricNames.add(m));
  }
  const params = [...paramNames].sort().map(name => {
    const values = ordered.map(run => run.params[name] ?? null);
    return { name, values, differs: new Set(values).size > 1 };
  });
  // differing parameters first
  params.sort((a, b) => Number(b.differs) - Number(a.differs));
  const metrics = [...metricNames].sort().map(name => {
    const values = ordered.map(run => (name in run.metrics ? run.metrics[name] ?? null : null));
    const base = values[0];
    const deltas = values.map((v, i) => (i === 0 || v === null || base === null ? null : v - base));
    return { name, values, deltas };
  });
  return { runs: ordered, params, metrics };
}

/** runs often share a name (one per cell): add the start of the run id to tell them apart */
export function runLabel(run: Run): string {
  const short = run.name.length > 14 ? run.name.slice(0, 13) + '…' : run.name;
  return `${short} ${run.run_id.slice(0, 4)}`;
}
