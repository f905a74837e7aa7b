/** The Productionize tab: run it for the open notebook, follow each step (state, time,
 * message), then the verdict, the API's input columns and the service it made. */
import * as React from 'react';

import { ProductionizeResult, serviceResult } from '../api';
import { formatDuration } from '../format';
import { PanelModel } from '../model/panel';
import { IStepLine, productionizeSteps } from '../steps';

const MARK = { running: '…', done: '✓', failed: '✗' };

function Steps(props: { lines: IStepLine[] }): JSX.Element {
  return (
    <ol className="mlops-nb-steps" data-testid="productionize-steps">
      {props.lines.map((line, i) => (
        <li key={i} className={`mlops-nb-step mlops-nb-step-${line.state}`} data-step={line.step} data-state={line.state}>
          <span className="mlops-nb-step-mark" aria-label={line.state}>{MARK[line.state]}</span>
          <span className="mlops-nb-step-name">{line.step}</span>
          <span className="mlops-nb-step-time">{line.seconds === null ? '' : formatDuration(line.seconds)}</span>
          <span className="mlops-nb-step-message">{line.message}</span>
          {line.infos.length > 0 && line.step !== 'extract' ? (
            <details className="mlops-nb-step-infos">
              <summary>{line.infos.length} note(s)</summary>
              <ul>{line.infos.map((info, k) => <li key={k}>{info}</li>)}</ul>
            </details>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function Result(props: { result: ProductionizeResult }): JSX.Element {
  const r = props.result;
  const fidelity = r.checks.find(c => c.name === 'fidelity');
  const others = r.checks.filter(c => c.name !== 'fidelity');
  return (
    <div className="mlops-nb-result" data-testid="productionize-result">
      {fidelity ? (
        <p className={fidelity.passed ? 'mlops-nb-verdict mlops-nb-stable' : 'mlops-nb-verdict mlops-nb-drifted'}
          data-testid="fidelity">
          {fidelity.passed ? '✓' : '✗'} Fidelity: {fidelity.detail}
        </p>
      ) : null}
      <dl>
        <dt>API input columns ({r.input_columns.length})</dt>
        <dd data-testid="input-columns">
          {r.input_columns.map(c => (
            <code key={c} className="mlops-nb-chip">{c}</code>
          ))}
          <div className="mlops-nb-hint">
            {r.takes_raw_columns
              ? 'raw columns: the notebook’s feature code (features.py) runs in the service'
              : 'the model’s own columns'}
          </div>
        </dd>
        <dt>Service directory</dt>
        <dd><code data-testid="service-dir">{r.service_dir}</code> (model <code>{r.model_var}</code>, made in {formatDuration(r.seconds)})</dd>
        <dt>Image</dt>
        <dd><code>{r.image ?? 'not built (use “Productionize and build image”)'}</code></dd>
        <dt>Start it with (from the Jupyter root)</dt>
        <dd><pre>{r.start_command}</pre></dd>
        {others.map(c => (
          <React.Fragment key={c.name}>
            <dt>{c.name}</dt>
            <dd className={c.passed ? '' : 'mlops-nb-error'}>{c.passed ? '✓' : '✗'} {c.detail}</dd>
          </React.Fragment>
        ))}
      </dl>
      {r.notes.length > 0 ? (
        <details>
          <summary>{r.notes.length} note(s) on the feature code</summary>
          <ul>{r.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>
        </details>
      ) : null}
      {r.dropped.length > 0 ? (
        <details data-testid="dropped">
          <summary>{r.dropped.length} line(s) of the notebook left out of train.py</summary>
          <table className="mlops-nb-table">
            <thead><tr><th>Cell</th><th>What</th><th>Why</th></tr></thead>
            <tbody>
              {r.dropped.map((d, i) => (
                <tr key={i}><td>{d.cell}</td><td><code>{d.what}</code></td><td>{d.reason}</td></tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
      {r.next_commands.length > 0 ? (
        <details>
          <summary>Next steps</summary>
          <pre>{r.next_commands.join('\n')}</pre>
        </details>
      ) : null}
    </div>
  );
}

function ServiceControl(props: { model: PanelModel; serviceDir: string }): JSX.Element {
  const { model, serviceDir } = props;
  const service = model.service;
  const info = serviceResult(service.job);
  return (
    <div className="mlops-nb-service">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" data-testid="start-service" disabled={service.running}
          onClick={() => void model.startService(serviceDir)}>
          {service.running ? 'Starting the service…' : 'Start the service here'}
        </button>
        {info ? (
          <span data-testid="service-url">
            running at <a href={info.url} target="_blank" rel="noopener noreferrer">{info.url}</a>{' '}
            <button className="jp-Button" onClick={() => { model.setTab('drift'); void model.drift.check(info.url); }}>
              Check its drift
            </button>
          </span>
        ) : null}
      </div>
      {service.error ? <pre className="mlops-nb-error" data-testid="service-error">{service.error}</pre> : null}
    </div>
  );
}

export function ProductionizeView(props: { model: PanelModel }): JSX.Element {
  const { model } = props;
  const job = model.productionize;
  if (model.notebook === null) {
    return <p className="mlops-nb-empty">Open a notebook to productionize it.</p>;
  }
  const state = job.job?.state ?? (job.error ? 'failed' : null);
  const lines = productionizeSteps(job.events, !job.running);
  const result = job.job?.state === 'succeeded' ? (job.job.result as ProductionizeResult) : null;
  return (
    <div className="mlops-nb-productionize">
      <p>
        Turn <code>{model.notebook}</code> into a FastAPI service: <code>train.py</code>, a typed
        request schema, the model, a Dockerfile, tests and Kubernetes manifests, in a folder next to
        the notebook.
      </p>
      <div className="mlops-nb-toolbar">
        <button className="jp-Button jp-mod-accept" data-testid="productionize-button" disabled={job.running}
          onClick={() => void model.runProductionize(false)}>Productionize</button>
        <button className="jp-Button" disabled={job.running}
          onClick={() => void model.runProductionize(true)}>Productionize and build image</button>
      </div>
      {state ? (
        <div className={`mlops-nb-job mlops-nb-job-${state}`} data-testid="productionize-job" data-state={state}>
          <div className="mlops-nb-job-state">
            {job.running ? 'running…' : state === 'succeeded' ? '✓ done' : '✗ failed'}
          </div>
          <Steps lines={lines} />
          {job.error ? <pre className="mlops-nb-error" data-testid="productionize-error">{job.error}</pre> : null}
        </div>
      ) : null}
      {result ? (
        <>
          <Result result={result} />
          <ServiceControl model={model} serviceDir={result.service_dir} />
        </>
      ) : null}
    </div>
  );
}
