/** Compare runs: a metric across them, and the params whose values differ. Pure functions. */
import { IRun } from './api';

export interface IComparison {
  /** every metric logged by at least one of the runs, sorted */
  metrics: string[];
  /** the metric charted (the chosen one, else the first) or null when the runs have none */
  metric: string | null;
  /** one bar per run, oldest first; value null when the run did not log the metric */
  points: { run_id: string; name: string; value: number | null }[];
  /** params with more than one distinct value among the runs: name → value per run (or null) */
  differing: { name: string; values: (string | null)[] }[];
  /** the runs in the order of `points` and of the `values` columns */
  runs: IRun[];
}

function byStart(a: IRun, b: IRun): number {
  return (a.start_time ?? 0) - (b.start_time ?? 0);
}

export function compareRuns(runs: IRun[], metric: string | null = null): IComparison {
  const ordered = [...runs].sort(byStart);
  const metricNames = new Set<string>();
  const paramNames = new Set<string>();
  for (const run of ordered) {
    Object.keys(run.metrics).forEach(m => metricNames.add(m));
    Object.keys(run.params).forEach(p => paramNames.add(p));
  }
  const metrics = [...metricNames].sort();
  const chosen = metric !== null && metricNames.has(metric) ? metric : metrics[0] ?? null;
  const points = ordered.map(run => ({
    run_id: run.run_id,
    name: run.name,
    value: chosen !== null && chosen in run.metrics ? run.metrics[chosen] : null
  }));
  const differing = [...paramNames]
    .sort()
    .map(name => ({ name, values: ordered.map(run => run.params[name] ?? null) }))
    .filter(row => new Set(row.values).size > 1);
  return { metrics, metric: chosen, points, differing, runs: ordered };
}
