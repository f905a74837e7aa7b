/** The whole panel's state: the open notebook, its runs, pipeline, productionize job, drift. */
import { IRequester } from '../api';
import { versionMismatch } from '../version';
import { DriftModel } from './drift';
import { JobModel } from './job';
import { ModelsModel } from './models';
import { Observable, Sleep, sleep } from './observable';
import { PipelineModel } from './pipeline';
import { RunsModel } from './runs';

export type Tab = 'runs' | 'pipeline' | 'productionize' | 'drift' | 'models';

export class PanelModel extends Observable {
  constructor(
    private readonly api: IRequester,
    readonly frontendVersion: string,
    wait: Sleep = sleep
  ) {
    super();
    this.runs = new RunsModel(api);
    this.pipeline = new PipelineModel(api, wait);
    this.productionize = new JobModel(api, wait);
    this.service = new JobModel(api, wait);
    this.drift = new DriftModel(api);
    this.models = new ModelsModel(api, wait);
    for (const part of [this.runs, this.pipeline, this.productionize, this.service, this.drift, this.models]) {
      part.changed.connect(() => this.emit());
    }
  }

  readonly runs: RunsModel;
  readonly pipeline: PipelineModel;
  readonly productionize: JobModel;
  /** `mlops-nb serve` of the service productionize made, started on the server */
  readonly service: JobModel;
  readonly drift: DriftModel;
  readonly models: ModelsModel;
  notebook: string | null = null;
  tab: Tab = 'runs';
  versionWarning: string | null = null;

  setTab(tab: Tab): void {
    this.tab = tab;
    this.emit();
  }

  async setNotebook(notebook: string | null): Promise<void> {
    if (notebook === this.notebook) {
      return;
    }
    this.notebook = notebook;
    this.emit();
    await Promise.all([this.runs.setNotebook(notebook), this.pipeline.load(notebook)]);
  }

  /** Ask the server extension its version; warn when it differs from this panel's. */
  async checkVersion(): Promise<string | null> {
    let server: string | null = null;
    try {
      server = (await this.api.request<{ version: string }>('version')).version;
    } catch {
      server = null;
    }
    this.versionWarning = versionMismatch(this.frontendVersion, server);
    this.emit();
    return this.versionWarning;
  }

  /** Productionize the open notebook on the server; offer its service to the drift check. */
  async runProductionize(build = false): Promise<void> {
    if (this.notebook === null) {
      return;
    }
    this.setTab('productionize');
    // force: a service this notebook made before is replaced (the server never replaces a folder
    // mlops-nb did not make)
    const job = await this.productionize.start('productionize', {
      notebook: this.notebook,
      build,
      force: true
    });
    const url = job?.state === 'succeeded' ? job.result?.url ?? job.result?.service_url : undefined;
    if (typeof url === 'string' && !this.drift.url) {
      this.drift.setUrl(url);
    }
  }

  /** Start the service in `serviceDir` on the server; its URL becomes the drift check's. */
  async startService(serviceDir: string): Promise<string | null> {
    const job = await this.service.start('services', { service_dir: serviceDir });
    const url = job?.state === 'succeeded' ? job.result?.url : undefined;
    if (typeof url !== 'string') {
      return null;
    }
    this.drift.setUrl(url);
    return url;
  }
}
