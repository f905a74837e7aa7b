/** The Pipeline tab: the DAG of the pipeline.yaml next to the notebook, each step's live and
 * cache state, failures with the failing cell, and Run buttons. */
import * as React from 'react';

import { ILiveStep, layers, PipelineModel, runOutcome } from '../model/pipeline';

const NODE_W = 116;
const NODE_H = 34;
const GAP_X = 40;
const GAP_Y = 14;

/** What a step is, in one word: the live run first, then the stored state. */
export function stepState(step: ILiveStep): string {
  if (step.live) {
    return step.live === 'started' ? 'running' : step.live;
  }
  if (step.last_status === 'FAILED') {
    return 'failed';
  }
  return step.cache_state;
}

function Dag(props: { steps: ILiveStep[] }): JSX.Element {
  const { steps } = props;
  const depth = layers(steps);
  const columns = new Map<number, ILiveStep[]>();
  steps.forEach(s => {
    const d = depth.get(s.name) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), s]);
  });
  const pos = new Map<string, { x: number; y: number }>();
  let height = 0;
  columns.forEach((column, d) => {
    column.forEach((s, i) => pos.set(s.name, { x: 4 + d * (NODE_W + GAP_X), y: 4 + i * (NODE_H + GAP_Y) }));
    height = Math.max(height, column.length * (NODE_H + GAP_Y));
  });
  const width = 8 + columns.size * (NODE_W + GAP_X) - GAP_X;
  return (
    <svg className="mlops-nb-dag" data-testid="pipeline-dag" viewBox={`0 0 ${width} ${height + 4}`}
      width={Math.min(width, 900)} role="img" aria-label="pipeline steps and their dependencies">
      <defs>
        <marker id="mlops-nb-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" className="mlops-nb-dag-arrow" />
        </marker>
      </defs>
      {steps.flatMap(s =>
        s.needs.map(need => {
          const a = pos.get(need);
          const b = pos.get(s.name);
          if (!a || !b) {
            return null;
          }
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return (
            <path key={`${need}->${s.name}`} className="mlops-nb-dag-edge" markerEnd="url(#mlops-nb-arrow)"
              d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />
          );
        })
      )}
      {steps.map(s => {
        const p = pos.get(s.name)!;
        const state = stepState(s);
        return (
          <g key={s.name} className={`mlops-nb-dag-node mlops-nb-state-${state}`} data-step={s.name} data-state={state}
            transform={`translate(${p.x},${p.y})`}>
            <title>{`${s.name}: ${state}${s.reason ? ` (${s.reason})` : ''}`}</title>
            <rect width={NODE_W} height={NODE_H} rx={6} />
            <text x={8} y={14} className="mlops-nb-dag-name">{s.name}</text>
            <text x={8} y={27} className="mlops-nb-dag-state">{state}</text>
          </g>
        );
      })}
    </svg>
  );
}

function Failure(props: { step: ILiveStep }): JSX.Element | null {
  const { step } = props;
  const failure = step.failed_cell;
  if (!failure && !(step.live === 'failed' && step.liveMessage)) {
    return null;
  }
  return (
    <div className="mlops-nb-failure" data-testid="step-failure" data-step={step.name}>
      <strong>
        {step.name} failed{failure?.number ? ` in cell #${failure.number}` : ''}
      </strong>
      {failure?.source ? <pre className="mlops-nb-cell-source">{failure.source}</pre> : null}
      <pre className="mlops-nb-error">{failure?.error ?? step.liveMessage}</pre>
    </div>
  );
}

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
  const steps = model.steps;
  const job = model.job;
  return (
    <div className="mlops-nb-pipeline">
      <div className="mlops-nb-toolbar">
        <button className="jp-Button jp-mod-accept" disabled={job.running} onClick={() => void model.run(notebook)}>
          Run pipeline
        </button>
        <button className="jp-Button" disabled={job.running} onClick={() => void model.run(notebook, true)}>
          Run all (ignore cache)
        </button>
        <code>{pipeline.path}</code>
        {job.job ? (
          <span className={`mlops-nb-job-state mlops-nb-job-${job.job.state}`} data-testid="pipeline-job" data-state={job.job.state}>
            {runOutcome(job.job)}
          </span>
        ) : null}
      </div>
      <Dag steps={steps} />
      <table className="mlops-nb-table" data-testid="pipeline-steps">
        <thead>
          <tr><th>Step</th><th>State</th><th>Cache</th><th>Notebook</th><th>Why</th></tr>
        </thead>
        <tbody>
          {steps.map(step => (
            <tr key={step.name} data-step={step.name}>
              <td>{step.name}</td>
              <td className={`mlops-nb-state-${stepState(step)}`}>{stepState(step)}</td>
              <td>{step.cache_state}</td>
              <td><code>{step.notebook}</code></td>
              <td>{step.liveMessage || step.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {steps.map(step => (
        <Failure key={step.name} step={step} />
      ))}
      {job.error && job.job?.state !== 'failed' ? <pre className="mlops-nb-error">{job.error}</pre> : null}
      {job.job?.state === 'failed' ? <pre className="mlops-nb-error" data-testid="pipeline-job-error">{job.error}</pre> : null}
    </div>
  );
}
