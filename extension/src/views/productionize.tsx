/** The Productionize tab: run it for the open notebook, follow it, show the service it made. */
import * as React from 'react';

import { PanelModel } from '../model/panel';
import { JobProgress } from './job';

interface ICheck {
  name: string;
  passed: boolean;
  detail?: string;
}

function Result(props: { result: any }): JSX.Element | null {
  const r = props.result;
  if (!r || typeof r !== 'object') {
    return null;
  }
  const command = r.start_command ?? r.command;
  const image = r.image ?? r.image_tag;
  const checks: ICheck[] = Array.isArray(r.checks) ? r.checks : [];
  const failed = checks.filter(c => !c.passed);
  return (
    <dl className="mlops-nb-result" data-testid="productionize-result">
      <dt>Service directory</dt>
      <dd><code>{String(r.service_dir ?? '–')}</code></dd>
      <dt>Image</dt>
      <dd><code>{image ?? 'not built (use “Productionize and build image”)'}</code></dd>
      {command ? (
        <>
          <dt>Start it with</dt>
          <dd><pre>{String(command)}</pre></dd>
        </>
      ) : null}
      {checks.length > 0 ? (
        <>
          <dt>Checks</dt>
          <dd data-testid="productionize-checks">
            {checks.length - failed.length} of {checks.length} passed
            {failed.map(c => (
              <div key={c.name} className="mlops-nb-error">{c.name}: {c.detail}</div>
            ))}
          </dd>
        </>
      ) : null}
    </dl>
  );
}

function ServiceControl(props: { model: PanelModel; serviceDir: string }): JSX.Element {
  const { model, serviceDir } = props;
  const service = model.service;
  const url = service.job?.state === 'succeeded' ? service.job.result?.url : null;
  return (
    <div className="mlops-nb-service">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" data-testid="start-service" disabled={service.running || !serviceDir}
          onClick={() => void model.startService(serviceDir)}>Start the service here</button>
        {url ? (
          <span data-testid="service-url">
            running at <a href={url} target="_blank" rel="noopener noreferrer">{url}</a>{' '}
            <button className="jp-Button" onClick={() => { model.setTab('drift'); void model.drift.check(url); }}>
              Check its drift
            </button>
          </span>
        ) : null}
      </div>
      <JobProgress job={service} testid="service-job" />
    </div>
  );
}

export function ProductionizeView(props: { model: PanelModel }): JSX.Element {
  const { model } = props;
  const job = model.productionize;
  if (model.notebook === null) {
    return <p className="mlops-nb-empty">Open a notebook to productionize it.</p>;
  }
  return (
    <div className="mlops-nb-productionize">
      <p>
        Turn <code>{model.notebook}</code> into a FastAPI service: <code>train.py</code>, a typed
        request schema, the model, a Dockerfile, tests and Kubernetes manifests, in a folder next to
        the notebook (a service made before is replaced).
      </p>
      <div className="mlops-nb-toolbar">
        <button className="jp-Button" data-testid="productionize-button" disabled={job.running}
          onClick={() => void model.runProductionize(false)}>Productionize</button>
        <button className="jp-Button" disabled={job.running}
          onClick={() => void model.runProductionize(true)}>Productionize and build image</button>
      </div>
      <JobProgress job={job} testid="productionize-job" />
      {job.job?.state === 'succeeded' ? (
        <>
          <Result result={job.job.result} />
          <ServiceControl model={model} serviceDir={String(job.job.result?.service_dir ?? '')} />
        </>
      ) : null}
    </div>
  );
}
