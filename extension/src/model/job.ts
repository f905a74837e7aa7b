/** A background job on the server: start it, poll its progress until it ends. */
import { ApiError, IJob, IRequester } from '../api';
import { Observable, Sleep, sleep } from './observable';

export const POLL_MS = 500;

export class JobModel extends Observable {
  constructor(
    private readonly api: IRequester,
    private readonly wait: Sleep = sleep,
    private readonly pollMs = POLL_MS
  ) {
    super();
  }

  job: IJob | null = null;
  events: Record<string, unknown>[] = [];
  error: string | null = null;

  get running(): boolean {
    return this.job !== null && (this.job.state === 'queued' || this.job.state === 'running');
  }

  /** POST `path` with `body`, then follow the job until it succeeds or fails. */
  async start(path: string, body: Record<string, unknown>): Promise<IJob | null> {
    if (this.running) {
      return this.job;
    }
    this.job = null;
    this.events = [];
    this.error = null;
    this.emit();
    try {
      this.job = await this.api.request<IJob>(path, { method: 'POST', body });
    } catch (error) {
      const e = error as ApiError;
      if (e.status === 409 && typeof e.body?.job_id === 'string') {
        return this.follow(e.body.job_id);  // already running: follow that job
      }
      this.error = e.message ?? String(error);
      this.emit();
      return null;
    }
    this.emit();
    return this.follow(this.job.id);
  }

  /** Poll `GET jobs/<id>?since=n` and append its new events until the job ends. */
  async follow(jobId: string): Promise<IJob | null> {
    for (;;) {
      let job: IJob;
      try {
        job = await this.api.request<IJob>(`jobs/${jobId}`, {
          params: { since: String(this.events.length) }
        });
      } catch (error) {
        this.error = (error as Error).message ?? String(error);
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
