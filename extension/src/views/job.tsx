/** A background job's live progress and its end (shared by Pipeline and Productionize). */
import * as React from 'react';

import { JobModel } from '../model/job';

function describe(event: Record<string, unknown>): string {
  const kind = String(event.event ?? event.kind ?? '');
  const step = event.step ?? event.name ?? '';
  const message = event.message ?? event.status ?? '';
  return [kind, step, message].filter(x => x !== '' && x !== null && x !== undefined).join(' · ');
}

export function JobProgress(props: { job: JobModel; testid: string }): JSX.Element | null {
  const { job } = props;
  if (!job.job && !job.error) {
    return null;
  }
  const state = job.job?.state ?? 'failed';
  return (
    <div className={`mlops-nb-job mlops-nb-job-${state}`} data-testid={props.testid} data-state={state}>
      <div className="mlops-nb-job-state">{job.running ? `${state}…` : state}</div>
      <ol className="mlops-nb-events">
        {job.events.map((e, i) => (
          <li key={i}>{describe(e)}</li>
        ))}
      </ol>
      {job.error ? <pre className="mlops-nb-error">{job.error}</pre> : null}
    </div>
  );
}
