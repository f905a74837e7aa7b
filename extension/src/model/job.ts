/** A background job on the server: start it, poll its progress until it ends. */
import { ApiError, errorMessage, IRequester, Job } from '../api';
import { Observable, Sleep, sleep } from './observable';

export const POLL_MS = 500;

export type JobEvent = Job['events'][number];

export class JobModel extends Observable {
  constructor(
    private readonly api: IRequester,
    private readonly wait: Sleep = sleep,
    private readonly pollMs = POLL_MS
  ) {
    super();
  }

  job: Job | null = null;
  events: JobEvent[] = [];
  error: string | null = null;

  get running(): boolean {
    return this.job !== null && (this.job.state === 'queued' || this.job.state === 'running');
  }

  /** POST `path` with `body`, then follow the job until it succeeds or fails. */
  async start(path: string, body: Record<string, unknown>): Promise<Job | null> {
    if (this.running) {
      return this.job;
    }
    this.job = null;
    this.events = [];
    this.error = null;
    this.emit();
    try {
      this.job = await this.api.request<Job>(path, { method: 'POST', body });
    } catch (error) {
      const e = error as ApiError;
      if (e.status === 409 && typeof e.body?.job_id === 'string') {
        return this.follow(e.body.job_id); // already running: follow that job
      }
      this.error = errorMessage(error);
      this.emit();
      return null;
    }
    this.emit();
    return this.follow(this.job.id);
  }

  /** Poll `GET jobs/<id>?since=n` and append its new events until the job ends. */
  async follow(jobId: string): Promise<Job | null> {
    for (;;) {
      let job: Job;
      try {
        job = await this.api.request<Job>(`jobs/${jobId}`, {
          params: { since: String(this.events.length) }
        });
      } catch (error) {
        this.error = errorMessage(error);
        this.emit();
        return null;
      }
      this.events = [...this.events, ...job.events];
      this.job = job;
      this.error = job.error;
      this.emit();
      if (job.state === 'succeeded' || job.state === 'failed') {
        return job;
      }
      await this.wait(this.pollMs);
    }
  }
}
