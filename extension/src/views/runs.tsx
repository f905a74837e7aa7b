/** The Runs tab: the open notebook's runs, newest first, with selection for comparing. */
import * as React from 'react';

import { cellLabel, formatDuration, keyValues } from '../format';
import { RunsModel } from '../model/runs';
import { CompareView } from './compare';

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
  return (
    <p className="mlops-nb-empty" data-testid="runs-empty">
      No runs for this notebook yet: add <code>%%track</code> to a cell and run it.
    </p>
  );
}

export function RunsView(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const comparison = model.comparison;
  return (
    <div className="mlops-nb-runs">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" onClick={() => void model.refresh()} disabled={model.loading}>
          Refresh
        </button>
        <span className="mlops-nb-hint">
          {model.selected.size > 0
            ? `${model.selected.size} selected${model.selected.size < 2 ? ' (select 2+ to compare)' : ''}`
            : 'Select runs to compare'}
        </span>
      </div>
      {model.runs.length === 0 ? (
        <Empty model={model} />
      ) : (
        <ul className="mlops-nb-runlist" data-testid="runs-table">
          {model.runs.map(run => (
            <li key={run.run_id} className="mlops-nb-run" data-run-id={run.run_id}>
              <div className="mlops-nb-run-head">
                <input
                  type="checkbox"
                  aria-label={`select ${run.name}`}
                  checked={model.selected.has(run.run_id)}
                  onChange={() => model.toggle(run.run_id)}
                />
                <span className={`mlops-nb-status mlops-nb-status-${run.status.toLowerCase()}`}>
                  {run.status}
                </span>
                <span className="mlops-nb-run-name" title={run.run_id}>{run.name}</span>
                <span className="mlops-nb-run-duration">{formatDuration(run.duration_s)}</span>
                <a href={run.url} target="_blank" rel="noopener noreferrer" title="Open the run in the MLflow UI">
                  MLflow ↗
                </a>
              </div>
              <div className="mlops-nb-run-detail">
                <span className="mlops-nb-cell">cell {cellLabel(run)}</span>
                <span className="mlops-nb-params">{keyValues(run.params)}</span>
              </div>
              <div className="mlops-nb-run-detail mlops-nb-metrics">{keyValues(run.metrics, 4)}</div>
            </li>
          ))}
        </ul>
      )}
      {model.runs.length > 0 && model.error ? <Empty model={model} /> : null}
      {model.nextPageToken ? (
        <button className="jp-Button mlops-nb-more" onClick={() => void model.loadMore()} disabled={model.loading}>
          Load more runs
        </button>
      ) : null}
      {comparison ? <CompareView comparison={comparison} onMetric={m => model.setMetric(m)} /> : null}
    </div>
  );
}
