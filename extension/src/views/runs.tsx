/** The Runs tab: the open notebook's runs as a table (the parameters that differ, the metrics
 * the user picks), sortable and filterable, with charts, and a selection to compare. */
import * as React from 'react';

import { Run } from '../api';
import { metricOverTime, parallelCoordinates } from '../charts';
import { cellLabel, formatDuration, formatNumber, formatTime } from '../format';
import { PanelModel } from '../model/panel';
import { defaultModelName } from '../model/promotion';
import { RunsModel, SortKey, Status } from '../model/runs';
import { Chart } from './chart';
import { PromoteForm, PromotionOutcome } from './promotion';

const STATUSES: Status[] = ['FINISHED', 'FAILED', 'RUNNING', 'KILLED'];

function Empty(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  if (model.notebook === null) {
    return <p className="mlops-nb-empty">Open a notebook to see its runs.</p>;
  }
  if (model.error) {
    return (
      <div className="mlops-nb-error" data-testid="runs-error">
        <p>
          <strong>Cannot read runs</strong>
          {model.error.trackingUri ? (
            <>
              {' '}
              from <code>{model.error.trackingUri}</code>
            </>
          ) : null}
          .
        </p>
        <p>{model.error.message}</p>
        <p>Start the tracking server or set MLFLOW_TRACKING_URI, then press Refresh.</p>
      </div>
    );
  }
  if (!model.loaded) {
    return <p className="mlops-nb-empty">Loading runs…</p>;
  }
  if (model.filtered) {
    return (
      <p className="mlops-nb-empty" data-testid="runs-empty">
        No run matches this filter.
      </p>
    );
  }
  return (
    <p className="mlops-nb-empty" data-testid="runs-empty">
      No runs for this notebook yet: add <code>%%track</code> to a cell and run it.
    </p>
  );
}

function Filters(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const [text, setText] = React.useState(model.filter.text);
  const [tag, setTag] = React.useState(model.filter.tag);
  const apply = (e: React.FormEvent) => {
    e.preventDefault();
    void model.setFilter({ text, tag });
  };
  return (
    <form className="mlops-nb-filters" onSubmit={apply} data-testid="runs-filters">
      <select className="jp-mod-styled" aria-label="status" value={model.filter.status ?? ''}
        onChange={e => void model.setFilter({ status: (e.target.value || null) as Status | null })}>
        <option value="">any status</option>
        {STATUSES.map(s => (
          <option key={s} value={s}>{s.toLowerCase()}</option>
        ))}
      </select>
      <input className="jp-mod-styled" aria-label="tag filter" placeholder="tag=value" list="mlops-nb-tags"
        value={tag} onChange={e => setTag(e.target.value)} />
      <datalist id="mlops-nb-tags">
        {model.tagNames.map(t => (
          <option key={t} value={`${t}=`} />
        ))}
      </datalist>
      <input className="jp-mod-styled" aria-label="search runs" placeholder="search name or params"
        value={text} onChange={e => setText(e.target.value)} />
      <button className="jp-Button" type="submit">Filter</button>
    </form>
  );
}

function MetricPicker(props: { model: RunsModel }): JSX.Element | null {
  const { model } = props;
  if (model.metricNames.length === 0) {
    return null;
  }
  const shown = new Set(model.metricColumns);
  return (
    <div className="mlops-nb-picker" data-testid="metric-picker">
      <span className="mlops-nb-hint">Metrics:</span>
      {model.metricNames.map(m => (
        <label key={m} className={shown.has(m) ? 'mlops-nb-chip mlops-nb-chip-on' : 'mlops-nb-chip'}>
          <input type="checkbox" checked={shown.has(m)} onChange={() => model.toggleMetric(m)} />
          {m}
        </label>
      ))}
    </div>
  );
}

function Header(props: { model: RunsModel; sortKey: SortKey; label: string; title?: string }): JSX.Element {
  const { model, sortKey } = props;
  // the header states the order of the rows shown (a click's order shows once its rows arrive)
  const active = model.shown.sort === sortKey;
  const descending = model.shown.order === 'desc';
  const arrow = active ? (descending ? ' ▼' : ' ▲') : '';
  return (
    <th aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'} title={props.title}>
      <button className="mlops-nb-sort" onClick={() => void model.sortBy(sortKey)}>
        {props.label}
        {arrow}
      </button>
    </th>
  );
}

function RunRow(props: {
  panel: PanelModel;
  run: Run;
  params: string[];
  metrics: string[];
}): JSX.Element {
  const { panel, run, params, metrics } = props;
  const model = panel.runs;
  const target = panel.promoteTarget?.run_id === run.run_id;
  return (
    <tr className={target ? 'mlops-nb-run mlops-nb-selected' : 'mlops-nb-run'} data-run-id={run.run_id}>
      <td>
        <input type="checkbox" aria-label={`select ${run.name}`} checked={model.selected.has(run.run_id)}
          onChange={() => model.toggle(run.run_id)} />
      </td>
      <td>
        <button className="mlops-nb-row-action" aria-label={`promote ${run.name}`}
          title="Promote this run's model: register it, run the gates, move the alias"
          disabled={run.status !== 'FINISHED' || panel.promotion.running} onClick={() => panel.openPromote(run)}>
          ⇧
        </button>
      </td>
      <td>
        <span className={`mlops-nb-status mlops-nb-status-${run.status.toLowerCase()}`}>{run.status}</span>
      </td>
      <td className="mlops-nb-run-name" title={`${run.run_id} · cell ${cellLabel(run)}`}>
        <a href={run.url} target="_blank" rel="noopener noreferrer" title="Open the run in the MLflow UI">
          {run.name}
        </a>
      </td>
      <td title={run.start_time ? new Date(run.start_time).toISOString() : ''}>{formatTime(run.start_time)}</td>
      <td>{formatDuration(run.duration_s)}</td>
      {params.map(p => (
        <td key={p} data-param={p}>{run.params[p] ?? '–'}</td>
      ))}
      {metrics.map(m => {
        const v = run.metrics[m];
        return (
          <td key={m} data-metric={m} className="mlops-nb-num">{typeof v === 'number' ? formatNumber(v) : '–'}</td>
        );
      })}
    </tr>
  );
}

function Charts(props: { model: RunsModel }): JSX.Element | null {
  const { model } = props;
  const metric = model.chartedMetric;
  const [view, setView] = React.useState<'time' | 'parallel'>('time');
  const timeData = React.useMemo(
    () => (metric ? metricOverTime(model.runs, metric, model.selected) : []),
    [model.runs, metric, model.selected.size, [...model.selected].join()]
  );
  const params = model.paramColumns;
  const parallel = params.length > 0 && model.runs.length >= 3;
  const parallelData = React.useMemo(
    () => (parallel ? parallelCoordinates(model.runs, params, metric) : []),
    [model.runs, params.join(), metric, parallel]
  );
  const layout = React.useMemo(() => ({ xaxis: { type: 'date' }, yaxis: { title: { text: metric ?? '' } }, showlegend: false }), [metric]);
  const parLayout = React.useMemo(() => ({ margin: { l: 60, r: 60, t: 36, b: 24 } }), []);
  if (metric === null || model.runs.length === 0) {
    return null;
  }
  return (
    <div className="mlops-nb-charts">
      <div className="mlops-nb-toolbar">
        <label>
          Chart{' '}
          <select className="jp-mod-styled" aria-label="chart metric" value={metric}
            onChange={e => model.setChartMetric(e.target.value)}>
            {model.metricNames.map(m => (
              <option key={m} value={m}>{m}</option>
            ))}
          </select>
        </label>
        <button className={view === 'time' ? 'jp-Button mlops-nb-tab-active' : 'jp-Button'} onClick={() => setView('time')}>
          over time
        </button>
        {parallel ? (
          <button className={view === 'parallel' ? 'jp-Button mlops-nb-tab-active' : 'jp-Button'}
            onClick={() => setView('parallel')} data-testid="parallel-button">
            parallel coordinates
          </button>
        ) : null}
      </div>
      {view === 'parallel' && parallel ? (
        <Chart data={parallelData} layout={parLayout} testid="chart-parallel" height={260}
          label={`${params.join(', ')} and ${metric} across runs`} />
      ) : (
        <Chart data={timeData} layout={layout} testid="chart-over-time" label={`${metric} over time`} />
      )}
    </div>
  );
}

/** The Promote form of a run row, then the gates' results. */
function Promote(props: { panel: PanelModel }): JSX.Element | null {
  const { panel } = props;
  const run = panel.promoteTarget;
  if (run === null) {
    return null;
  }
  return (
    <div className="mlops-nb-promote-run" data-testid="promote-run" data-run-id={run.run_id}>
      <h3>
        Promote <span data-testid="promote-run-name">{run.name}</span>{' '}
        <code title="run id">{run.run_id.slice(0, 8)}</code>
      </h3>
      <PromoteForm key={run.run_id} initialName={defaultModelName(panel.notebook)} running={panel.promotion.running}
        onSubmit={(_source, form) => void panel.promoteRun(form)} onCancel={() => panel.closePromote()} />
      <PromotionOutcome promotion={panel.promotion} />
    </div>
  );
}

export function RunsView(props: { model: PanelModel }): JSX.Element {
  const panel = props.model;
  const model = panel.runs;
  const params = model.paramColumns;
  const metrics = model.metricColumns;
  const n = model.selected.size;
  return (
    <div className="mlops-nb-runs">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" onClick={() => void model.refresh()} disabled={model.loading}>
          Refresh
        </button>
        <button className="jp-Button jp-mod-accept" data-testid="compare-button" disabled={n < 2}
          onClick={() => panel.openCompare()}>
          {n < 2 ? 'Select 2+ runs to compare' : `Compare ${n} runs`}
        </button>
        <span className="mlops-nb-hint" data-testid="runs-count">
          {model.loaded ? `${model.total} run${model.total === 1 ? '' : 's'}${model.filtered ? ' match' : ''}` : ''}
        </span>
      </div>
      <Promote panel={panel} />
      <Filters model={model} />
      <MetricPicker model={model} />
      {model.runs.length === 0 ? (
        <Empty model={model} />
      ) : (
        <div className="mlops-nb-scroll">
          <table className="mlops-nb-table mlops-nb-runtable" data-testid="runs-table">
            <thead>
              <tr>
                <th />
                <th title="promote a run's model" />
                <Header model={model} sortKey="status" label="Status" />
                <Header model={model} sortKey="name" label="Run" />
                <Header model={model} sortKey="start_time" label="Started" />
                <Header model={model} sortKey="duration" label="Took" />
                {params.map(p => (
                  <Header key={p} model={model} sortKey={`params.${p}`} label={p} title="parameter (differs between runs)" />
                ))}
                {metrics.map(m => (
                  <Header key={m} model={model} sortKey={`metrics.${m}`} label={m} title="metric" />
                ))}
              </tr>
            </thead>
            <tbody>
              {model.runs.map(run => (
                <RunRow key={run.run_id} panel={panel} run={run} params={params} metrics={metrics} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {model.runs.length > 0 && model.error ? <Empty model={model} /> : null}
      {model.nextPageToken ? (
        <button className="jp-Button mlops-nb-more" onClick={() => void model.loadMore()} disabled={model.loading}>
          Load more runs ({model.runs.length} of {model.total})
        </button>
      ) : null}
      <Charts model={model} />
    </div>
  );
}
