/** Plotly traces built from runs (pure: tested in Node, drawn by views/chart.tsx). */
import { Run } from './api';

const COLORS = ['#1976d2', '#2e7d32', '#6a1b9a', '#00838f', '#5d4037', '#c2185b'];

/** The metric of each run over time (x: the run's start): one line per tracked cell (a cell's
 * runs are the same experiment, re-run), the selected runs highlighted. */
export function metricOverTime(runs: Run[], metric: string, selected: Set<string>): unknown[] {
  const points = runs
    .filter(r => r.start_time !== null && typeof r.metrics[metric] === 'number')
    .sort((a, b) => (a.start_time ?? 0) - (b.start_time ?? 0));
  const cells = new Map<string, Run[]>();
  for (const r of points) {
    const key = r.cell_key ?? r.cell_id ?? r.name;
    cells.set(key, [...(cells.get(key) ?? []), r]);
  }
  const trace = (subset: Run[], name: string, color: string, size: number, mode: string) => ({
    type: 'scatter',
    mode,
    name,
    x: subset.map(r => new Date(r.start_time ?? 0).toISOString()),
    y: subset.map(r => r.metrics[metric]),
    text: subset.map(r => `${r.name} ${r.run_id.slice(0, 6)}`),
    hovertemplate: `%{text}<br>${metric}=%{y}<extra></extra>`,
    marker: { color, size },
    line: { color, width: 1 }
  });
  const chosen = points.filter(r => selected.has(r.run_id));
  const traces = [...cells.values()].map((cell, i) =>
    trace(cell, cell[cell.length - 1].name, COLORS[i % COLORS.length], 6, 'lines+markers')
  );
  if (chosen.length > 0) {
    traces.push(trace(chosen, 'selected', '#e65100', 11, 'markers'));
  }
  return traces;
}

export interface IDimension {
  label: string;
  values: number[];
  tickvals?: number[];
  ticktext?: string[];
}

/** One axis per varying parameter (text values become categories) and one for the metric. */
export function parallelCoordinates(runs: Run[], params: string[], metric: string | null): unknown[] {
  const rows = runs.filter(r => params.every(p => p in r.params) && (metric === null || typeof r.metrics[metric] === 'number'));
  const dimensions: IDimension[] = params.map(p => {
    const raw = rows.map(r => r.params[p]);
    const numbers = raw.map(Number);
    if (numbers.every(n => Number.isFinite(n))) {
      return { label: p, values: numbers };
    }
    const categories = [...new Set(raw)].sort();
    return {
      label: p,
      values: raw.map(v => categories.indexOf(v)),
      tickvals: categories.map((_, i) => i),
      ticktext: categories
    };
  });
  const line: Record<string, unknown> = { color: '#1976d2' };
  if (metric !== null) {
    const values = rows.map(r => r.metrics[metric] as number);
    dimensions.push({ label: metric, values });
    Object.assign(line, { color: values, colorscale: 'Viridis', showscale: false });
  }
  return [{ type: 'parcoords', line, dimensions }];
}
