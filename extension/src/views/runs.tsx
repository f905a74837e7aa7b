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
        <table className="mlops-nb-table" data-testid="runs-table">
          <thead>
            <tr>
              <th></th>
              <th>Status</th>
              <th>Name</th>
              <th>Cell</th>
              <th>Params</th>
              <th>Metrics</th>
              <th>Duration</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {model.runs.map(run => (
              <tr key={run.run_id} className="mlops-nb-run" data-run-id={run.run_id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${run.name}`}
                    checked={model.selected.has(run.run_id)}
                    onChange={() => model.toggle(run.run_id)}
                  />
                </td>
                <td className={`mlops-nb-status mlops-nb-status-${run.status.toLowerCase()}`}>
                  {run.status}
                </td>
                <td className="mlops-nb-run-name">{run.name}</td>
                <td>{cellLabel(run)}</td>
                <td className="mlops-nb-params">{keyValues(run.params)}</td>
                <td className="mlops-nb-metrics">{keyValues(run.metrics)}</td>
                <td>{formatDuration(run.duration_s)}</td>
                <td>
                  <a href={run.url} target="_blank" rel="noopener noreferrer" title="Open in the MLflow UI">
                    MLflow
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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
