/** Compare selected runs: a bar chart of one metric and the params that differ. */
import * as React from 'react';

import { IComparison } from '../compare';
import { formatNumber } from '../format';

const BAR_HEIGHT = 18;
const LABEL_WIDTH = 120;
const CHART_WIDTH = 140;

/** runs often share a name (one per cell): add the start of the run id to tell them apart */
function label(name: string, runId: string): string {
  const short = name.length > 12 ? name.slice(0, 11) + '…' : name;
  return `${short} ${runId.slice(0, 4)}`;
}

function Chart(props: { comparison: IComparison }): JSX.Element {
  const { points } = props.comparison;
  const values = points.map(p => p.value).filter((v): v is number => v !== null);
  const max = Math.max(...values.map(Math.abs), 1e-12);
  const height = points.length * (BAR_HEIGHT + 4);
  return (
    <svg className="mlops-nb-chart" viewBox={`0 0 ${LABEL_WIDTH + CHART_WIDTH + 50} ${height}`}
      width="100%" role="img" aria-label={`${props.comparison.metric} by run`}>
      {points.map((p, i) => {
        const y = i * (BAR_HEIGHT + 4);
        const w = p.value === null ? 0 : (Math.abs(p.value) / max) * CHART_WIDTH;
        return (
          <g key={p.run_id} className="mlops-nb-bar" data-run-id={p.run_id}>
            <text x={0} y={y + BAR_HEIGHT - 5} className="mlops-nb-bar-label">
              {label(p.name, p.run_id)}
            </text>
            <rect x={LABEL_WIDTH} y={y} width={w} height={BAR_HEIGHT} />
            <text x={LABEL_WIDTH + w + 4} y={y + BAR_HEIGHT - 5} className="mlops-nb-bar-value">
              {p.value === null ? 'n/a' : formatNumber(p.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function CompareView(props: {
  comparison: IComparison;
  onMetric: (metric: string) => void;
}): JSX.Element {
  const { comparison } = props;
  return (
    <div className="mlops-nb-compare" data-testid="compare">
      <h3>Compare {comparison.runs.length} runs</h3>
      {comparison.metric === null ? (
        <p className="mlops-nb-empty">These runs logged no metrics.</p>
      ) : (
        <>
          <label>
            Metric{' '}
            <select value={comparison.metric} onChange={e => props.onMetric(e.target.value)}
              data-testid="compare-metric">
              {comparison.metrics.map(m => (
                <option key={m} value={m}>{m}</option>
              ))}
            </select>
          </label>
          <Chart comparison={comparison} />
        </>
      )}
      <h4>Differing params</h4>
      {comparison.differing.length === 0 ? (
        <p className="mlops-nb-empty">All params are equal.</p>
      ) : (
        <table className="mlops-nb-table" data-testid="compare-params">
          <thead>
            <tr>
              <th>Param</th>
              {comparison.runs.map(r => (
                <th key={r.run_id} title={r.name}>{label(r.name, r.run_id)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {comparison.differing.map(row => (
              <tr key={row.name}>
                <td>{row.name}</td>
                {row.values.map((v, i) => (
                  <td key={i}>{v ?? '–'}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
