/** The pipeline.yaml next to the open notebook, and its runs. */
import { ApiError, IPipeline, IRequester } from '../api';
import { JobModel } from './job';
import { Observable, Sleep, sleep } from './observable';

export class PipelineModel extends Observable {
  constructor(private readonly api: IRequester, wait: Sleep = sleep) {
    super();
    this.job = new JobModel(api, wait);
    this.job.changed.connect(() => this.emit());
  }

  readonly job: JobModel;
  pipeline: IPipeline | null = null;
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
      this.pipeline = await this.api.request<IPipeline>('pipeline', { params: { notebook } });
    } catch (error) {
      this.error = (error as ApiError).message ?? String(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  /** Run the pipeline on the server; reload the step states when it ends. */
  async run(notebook: string, force = false): Promise<void> {
    const job = await this.job.start('pipeline/run', { notebook, force });
    if (job) {
      await this.load(notebook);
    }
  }
}
