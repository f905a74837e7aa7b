/** Runs side by side (a main-area tab): parameter diff, metrics with deltas, the tracked cells'
 * code diff, metric histories and the figures of each run. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Figure, IRequester, RunDetail } from '../api';
import { runLabel } from '../compare';
import { changedCount, IDiffRow } from '../diff';
import { formatDelta, formatNumber } from '../format';
import { CompareModel } from '../model/compare';
import { PanelModel } from '../model/panel';
import { Chart } from './chart';

function Params(props: { model: CompareModel }): JSX.Element {
  const c = props.model.comparison!;
  const [showAll, setShowAll] = React.useState(false);
  const differing = c.params.filter(p => p.differs);
  const rows = showAll ? c.params : differing;
  return (
    <section>
      <h3>Parameters</h3>
      {differing.length === 0 ? <p className="mlops-nb-empty">All parameters are equal.</p> : null}
      {rows.length > 0 ? (
        <table className="mlops-nb-table" data-testid="compare-params">
          <thead>
            <tr>
              <th>Parameter</th>
              {c.runs.map(r => (
                <th key={r.run_id} title={r.run_id}>{runLabel(r)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(row => (
              <tr key={row.name} className={row.differs ? 'mlops-nb-differs' : ''} data-param={row.name}>
                <td>{row.name}</td>
                {row.values.map((v, i) => (
                  <td key={i}>{v ?? '–'}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {c.params.length > differing.length ? (
        <button className="jp-Button mlops-nb-link" onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Hide equal parameters' : `Show ${c.params.length - differing.length} equal parameters`}
        </button>
      ) : null}
    </section>
  );
}

function Metrics(props: { model: CompareModel }): JSX.Element {
  const c = props.model.comparison!;
  return (
    <section>
      <h3>Metrics <span className="mlops-nb-hint">(Δ to {runLabel(c.runs[0])})</span></h3>
      {c.metrics.length === 0 ? (
        <p className="mlops-nb-empty">These runs logged no metrics.</p>
      ) : (
        <table className="mlops-nb-table" data-testid="compare-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              {c.runs.map(r => (
                <th key={r.run_id}>{runLabel(r)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {c.metrics.map(row => (
              <tr key={row.name} data-metric={row.name}>
                <td>{row.name}</td>
                {row.values.map((v, i) => {
                  const d = row.deltas[i];
                  return (
                    <td key={i} className="mlops-nb-num">
                      {v === null ? '–' : formatNumber(v)}
                      {d !== null ? (
                        <span className={d > 0 ? 'mlops-nb-up' : d < 0 ? 'mlops-nb-down' : 'mlops-nb-same'} data-testid="delta">
                          {' '}{formatDelta(d)}
                        </span>
                      ) : null}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function DiffRow(props: { row: IDiffRow }): JSX.Element {
  const { row } = props;
  return (
    <tr className={`mlops-nb-diff-${row.kind}`}>
      <td className="mlops-nb-ln">{row.left?.n ?? ''}</td>
      <td className="mlops-nb-code" data-side="left">{row.left?.text ?? ''}</td>
      <td className="mlops-nb-ln">{row.right?.n ?? ''}</td>
      <td className="mlops-nb-code" data-side="right">{row.right?.text ?? ''}</td>
    </tr>
  );
}

function CodeDiff(props: { model: CompareModel }): JSX.Element {
  const { model } = props;
  const runs = model.ordered;
  const diff = model.cellDiff;
  const [a, b] = model.diffPair;
  const choose = (side: 0 | 1, value: number) => {
    const pair: [number, number] = side === 0 ? [value, b] : [a, value];
    model.setDiffPair(pair);
  };
  const picker = (side: 0 | 1, value: number) => (
    <select className="jp-mod-styled" aria-label={side === 0 ? 'left run' : 'right run'} value={value}
      onChange={e => choose(side, Number(e.target.value))}>
      {runs.map((d, i) => (
        <option key={d.run.run_id} value={i}>{runLabel(d.run)}</option>
      ))}
    </select>
  );
  return (
    <section>
      <h3>Code of the tracked cell</h3>
      {runs.length > 2 ? (
        <div className="mlops-nb-toolbar">{picker(0, a)} vs {picker(1, b)}</div>
      ) : null}
      {diff === null ? (
        <p className="mlops-nb-empty">The cell source of one of these runs was not recorded.</p>
      ) : (
        <>
          <p className="mlops-nb-hint" data-testid="diff-summary">
            {changedCount(diff.rows) === 0
              ? 'Same code in both runs.'
              : `${changedCount(diff.rows)} line(s) differ between ${runLabel(diff.left.run)} and ${runLabel(diff.right.run)}.`}
          </p>
          <table className="mlops-nb-diff" data-testid="code-diff">
            <colgroup>
              <col className="mlops-nb-ln-col" />
              <col />
              <col className="mlops-nb-ln-col" />
              <col />
            </colgroup>
            <thead>
              <tr>
                <th colSpan={2}>{runLabel(diff.left.run)}</th>
                <th colSpan={2}>{runLabel(diff.right.run)}</th>
              </tr>
            </thead>
            <tbody>
              {diff.rows.map((row, i) => (
                <DiffRow key={i} row={row} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function History(props: { model: CompareModel }): JSX.Element | null {
  const runs = props.model.ordered;
  const stepped = new Set<string>();
  runs.forEach(d => Object.entries(d.history).forEach(([k, v]) => v.length > 1 && stepped.add(k)));
  const metrics = [...stepped].sort();
  const [metric, setMetric] = React.useState<string | null>(null);
  const chosen = metric && stepped.has(metric) ? metric : metrics[0] ?? null;
  const data = React.useMemo(
    () =>
      chosen === null
        ? []
        : runs.map(d => ({
            type: 'scatter',
            mode: 'lines+markers',
            name: runLabel(d.run),
            x: (d.history[chosen] ?? []).map(p => p.step),
            y: (d.history[chosen] ?? []).map(p => p.value)
          })),
    [runs, chosen]
  );
  const layout = React.useMemo(() => ({ xaxis: { title: { text: 'step' } }, yaxis: { title: { text: chosen ?? '' } } }), [chosen]);
  if (chosen === null) {
    return null;
  }
  return (
    <section>
      <h3>
        History{' '}
        <select className="jp-mod-styled" aria-label="history metric" value={chosen} onChange={e => setMetric(e.target.value)}>
          {metrics.map(m => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </h3>
      <Chart data={data} layout={layout} testid="compare-history" label={`${chosen} by step`} />
    </section>
  );
}

function FigureView(props: { api: IRequester; notebook: string; runId: string; figure: Figure }): JSX.Element {
  const { api, notebook, runId, figure } = props;
  const [src, setSrc] = React.useState<string | null>(null);
  const [plot, setPlot] = React.useState<{ data: unknown[]; layout: Record<string, unknown> } | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    let url: string | null = null;
    let alive = true;
    api
      .blob('runs/artifact', { notebook, run_id: runId, path: figure.path })
      .then(async blob => {
        if (!alive) {
          return;
        }
        if (figure.kind === 'png') {
          url = URL.createObjectURL(blob);
          setSrc(url);
        } else {
          const fig = JSON.parse(await blob.text());
          setPlot({ data: fig.data ?? [], layout: fig.layout ?? {} });
        }
      })
      .catch(e => alive && setError(String(e.message ?? e)));
    return () => {
      alive = false;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [notebook, runId, figure.path]);
  if (error) {
    return <span className="mlops-nb-error">{error}</span>;
  }
  if (plot) {
    return <Chart data={plot.data} layout={plot.layout} testid="compare-figure-plotly" label={figure.name} />;
  }
  return src ? <img src={src} alt={`${figure.name} of run ${runId}`} data-testid="compare-figure" /> : <span>…</span>;
}

function Figures(props: { model: CompareModel; api: IRequester; notebook: string }): JSX.Element | null {
  const runs = props.model.ordered;
  const names = [...new Set(runs.flatMap(d => d.figures.map(f => f.name)))].sort();
  if (names.length === 0) {
    return null;
  }
  const find = (d: RunDetail, name: string) => d.figures.find(f => f.name === name) ?? null;
  return (
    <section>
      <h3>Figures</h3>
      <table className="mlops-nb-figures" data-testid="compare-figures">
        <thead>
          <tr>
            {runs.map(d => (
              <th key={d.run.run_id}>{runLabel(d.run)}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {names.map(name => (
            <tr key={name}>
              {runs.map(d => {
                const figure = find(d, name);
                return (
                  <td key={d.run.run_id}>
                    {figure ? (
                      <FigureView api={props.api} notebook={props.notebook} runId={d.run.run_id} figure={figure} />
                    ) : (
                      <span className="mlops-nb-empty">no {name}</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function CompareView(props: { model: PanelModel; api: IRequester }): JSX.Element {
  const panel = props.model;
  const model = panel.compare;
  const comparison = model.comparison;
  if (model.error) {
    return <div className="mlops-nb-error" data-testid="compare-error">{model.error}</div>;
  }
  if (!comparison) {
    return (
      <p className="mlops-nb-empty">
        {model.loading ? 'Loading the runs…' : 'Select two or more runs in the MLOps panel to compare them.'}
      </p>
    );
  }
  return (
    <div className="mlops-nb-compare" data-testid="compare">
      <h2>
        Compare {comparison.runs.length} runs of <code>{panel.runs.notebook}</code>
      </h2>
      <Params model={model} />
      <Metrics model={model} />
      <CodeDiff model={model} />
      <History model={model} />
      <Figures model={model} api={props.api} notebook={panel.runs.notebook ?? ''} />
    </div>
  );
}

/** The comparison as a main-area widget (re-renders when the panel model changes). */
export class CompareWidget extends ReactWidget {
  constructor(readonly model: PanelModel, readonly api: IRequester) {
    super();
    this.id = 'mlops-nb-compare';
    this.addClass('mlops-nb-compare-widget');
    this.title.label = 'Compare runs';
    this.title.closable = true;
    model.changed.connect(() => this.update(), this);
  }

  render(): JSX.Element {
    return <CompareView model={this.model} api={this.api} />;
  }
}
