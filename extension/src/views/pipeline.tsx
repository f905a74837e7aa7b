/** The Pipeline tab: the steps of the pipeline.yaml next to the notebook, and a Run button. */
import * as React from 'react';

import { PipelineModel } from '../model/pipeline';
import { JobProgress } from './job';

export function PipelineView(props: { model: PipelineModel; notebook: string | null }): JSX.Element {
  const { model, notebook } = props;
  if (notebook === null) {
    return <p className="mlops-nb-empty">Open a notebook to see the pipeline next to it.</p>;
  }
  if (model.error) {
    return <div className="mlops-nb-error" data-testid="pipeline-error">{model.error}</div>;
  }
  const pipeline = model.pipeline;
  if (!pipeline) {
    return <p className="mlops-nb-empty">Loading the pipeline…</p>;
  }
  if (!pipeline.exists) {
    return (
      <p className="mlops-nb-empty" data-testid="pipeline-empty">
        No <code>{pipeline.path}</code> next to this notebook: create one to chain notebooks into
        cached steps (see <code>mlops-nb pipeline --help</code>).
      </p>
    );
  }
  return (
    <div className="mlops-nb-pipeline">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" disabled={model.job.running}
          onClick={() => void model.run(notebook)}>Run pipeline</button>
        <button className="jp-Button" disabled={model.job.running}
          onClick={() => void model.run(notebook, true)}>Run all (ignore cache)</button>
        <code>{pipeline.path}</code>
      </div>
      <table className="mlops-nb-table" data-testid="pipeline-steps">
        <thead>
          <tr><th>Step</th><th>Needs</th><th>Cache</th><th>Last status</th></tr>
        </thead>
        <tbody>
          {pipeline.steps.map(step => (
            <tr key={step.name}>
              <td>{step.name}</td>
              <td>{(step.needs ?? []).join(', ') || '–'}</td>
              <td>{step.cache_state ?? '–'}</td>
              <td>{step.last_status ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <JobProgress job={model.job} testid="pipeline-job" />
    </div>
  );
}
