/** The pipeline.yaml next to the open notebook: its DAG, step states, and live runs. */
import { errorMessage, IRequester, Job, PipelineEvent, PipelineResponse, pipelineResult, StepState } from '../api';
import { JobModel } from './job';
import { Observable, Sleep, sleep } from './observable';

/** A step as the panel shows it: its stored state, overlaid with the running job's events. */
export interface ILiveStep extends StepState {
  /** running | finished | cached | failed | skipped | queued, while or after a run from here */
  live: string | null;
  liveMessage: string;
}

/** Each step's layer in the DAG (0 for steps with no needs), for drawing it left to right. */
export function layers(steps: { name: string; needs: string[] }[]): Map<string, number> {
  const byName = new Map(steps.map(s => [s.name, s]));
  const depth = new Map<string, number>();
  const visit = (name: string, trail: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) {
      return known;
    }
    if (trail.has(name)) {
      return 0; // a cycle: the server refuses those; never loop here
    }
    trail.add(name);
    const needs = byName.get(name)?.needs ?? [];
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map(n => visit(n, trail)));
    depth.set(name, d);
    return d;
  };
  steps.forEach(s => visit(s.name, new Set()));
  return depth;
}

/** A run's outcome in words: the job can succeed while the pipeline it ran failed at a step. */
export function runOutcome(job: Job | null): string {
  if (job === null) {
    return '';
  }
  if (job.state === 'queued' || job.state === 'running') {
    return 'running…';
  }
  const result = pipelineResult(job);
  if (result === null) {
    return job.state; // failed before any step ran (the error says why)
  }
  const failed = Object.values(result.steps).filter(s => s.status === 'FAILED').map(s => s.name);
  if (result.status === 'FINISHED') {
    return 'finished';
  }
  return failed.length > 0 ? `failed at ${failed.join(', ')}` : result.status.toLowerCase();
}

export class PipelineModel extends Observable {
  constructor(private readonly api: IRequester, wait: Sleep = sleep) {
    super();
    this.job = new JobModel(api, wait);
    this.job.changed.connect(() => this.emit());
  }

  readonly job: JobModel;
  pipeline: PipelineResponse | null = null;
  error: string | null = null;
  loading = false;

  async load(notebook: string | null): Promise<void> {
    this.pipeline = null;
    this.error = null;
    if (notebook === null) {
      this.emit();
      return;
    }
    this.loading = true;
    this.emit();
    try {
      this.pipeline = await this.api.request<PipelineResponse>('pipeline', { params: { notebook } });
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  /** The steps with the live state reported by the current (or last) run from the panel. */
  get steps(): ILiveStep[] {
    const latest = new Map<string, PipelineEvent>();
    for (const e of this.job.events) {
      if (e.event === 'PipelineEvent') {
        latest.set(e.step, e);
      }
    }
    const running = this.job.running;
    return (this.pipeline?.steps ?? []).map(step => {
      const e = latest.get(step.name);
      const live = e ? e.kind : running ? 'queued' : null;
      return { ...step, live, liveMessage: e?.message ?? '' };
    });
  }

  /** Run the pipeline on the server; reload the step states when it ends. */
  async run(notebook: string, force = false): Promise<void> {
    const job = await this.job.start('pipeline/run', { notebook, force });
    if (job) {
      await this.load(notebook);
    }
  }
}
