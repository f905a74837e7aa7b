/** The whole panel's state: the open notebook, its runs, pipeline, productionize job, drift. */
import { ISignal, Signal } from '@lumino/signaling';

import { IRequester, productionizeResult, Run, serviceResult } from '../api';
import { versionMismatch } from '../version';
import { CompareModel } from './compare';
import { DriftModel, realTimer, Timer } from './drift';
import { JobModel } from './job';
import { ModelsModel } from './models';
import { Observable, Sleep, sleep } from './observable';
import { PipelineModel } from './pipeline';
import { IPromoteForm, PromotionModel } from './promotion';
import { RunsModel } from './runs';

/** a tab's id (the registry of tabs is views/tabs.tsx) */
export type Tab = string;

export class PanelModel extends Observable {
  constructor(
    private readonly api: IRequester,
    readonly frontendVersion: string,
    wait: Sleep = sleep,
    timer: Timer = realTimer
  ) {
    super();
    this.runs = new RunsModel(api);
    this.compare = new CompareModel(api);
    this.pipeline = new PipelineModel(api, wait);
    this.productionize = new JobModel(api, wait);
    this.service = new JobModel(api, wait);
    this.drift = new DriftModel(api, timer, wait);
    this.models = new ModelsModel(api, wait);
    this.promotion = new PromotionModel(api, wait);
    const parts = [
      this.runs, this.compare, this.pipeline, this.productionize, this.service, this.drift, this.models, this.promotion
    ];
    for (const part of parts) {
      part.changed.connect(() => this.emit());
    }
    // the comparison follows the selection
    this.runs.changed.connect(() => void this.compare.load(this.runs.notebook, this.runs.selectedRuns.map(r => r.run_id)));
  }

  readonly runs: RunsModel;
  readonly compare: CompareModel;
  readonly pipeline: PipelineModel;
  readonly productionize: JobModel;
  /** `mlops-nb serve` of the service productionize made, started on the server */
  readonly service: JobModel;
  readonly drift: DriftModel;
  readonly models: ModelsModel;
  /** a promotion started from a run row of the Runs tab */
  readonly promotion: PromotionModel;
  /** the run whose Promote form is open */
  promoteTarget: Run | null = null;
  notebook: string | null = null;
  tab: Tab = 'runs';
  versionWarning: string | null = null;

  /** fires when the user asks to compare the selected runs (the comparison opens in a tab) */
  get compareRequested(): ISignal<this, void> {
    return this._compareRequested;
  }

  openCompare(): void {
    if (this.runs.selected.size >= 2) {
      this._compareRequested.emit();
    }
  }

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

  /** Open the Promote form for `run` (a run row's action); the last promotion is forgotten. */
  openPromote(run: Run): void {
    if (this.promotion.running) {
      return;
    }
    this.promotion.reset();
    this.promoteTarget = run;
    this.emit();
  }

  closePromote(): void {
    if (this.promotion.running) {
      return;
    }
    this.promotion.reset();
    this.promoteTarget = null;
    this.emit();
  }

  /** Promote the run of the open form's model into the registry of the notebook's store; the
   * Models tab, when it was shown, then shows the model. */
  async promoteRun(form: IPromoteForm): Promise<void> {
    const run = this.promoteTarget;
    if (run === null) {
      return;
    }
    const result = await this.promotion.promote(run.run_id, form, this.notebook);
    if (this.models.models !== null) {
      await this.models.promoted(result);
    }
  }

  /** Productionize the open notebook on the server (the result names the service folder). */
  async runProductionize(build = false): Promise<void> {
    if (this.notebook === null) {
      return;
    }
    this.setTab('productionize');
    // force: a service this notebook made before is replaced (the library never replaces a
    // folder mlops-nb did not make)
    await this.productionize.start('productionize', { notebook: this.notebook, build, force: true });
  }

  /** The service folder the last productionize made, relative to the root. */
  get serviceDir(): string | null {
    return productionizeResult(this.productionize.job)?.service_dir ?? null;
  }

  /** Start the service in `serviceDir` on the server; its URL becomes the drift check's. */
  async startService(serviceDir: string): Promise<string | null> {
    const job = await this.service.start('services', { service_dir: serviceDir });
    const url = serviceResult(job)?.url ?? null;
    if (url !== null) {
      this.drift.setUrl(url);
    }
    return url;
  }

  private _compareRequested = new Signal<this, void>(this);
}
