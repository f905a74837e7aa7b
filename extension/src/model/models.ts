/** The Models tab: registered models, one model's versions and history, a card, a promotion. */
import { ApiError, IRequester } from '../api';
import {
  ICard,
  IModelDetail,
  IModels,
  IPromoteRequest,
  IPromotionEvent,
  IPromotionResult
} from '../registry';
import { JobModel } from './job';
import { Observable, Sleep, sleep } from './observable';

export class ModelsModel extends Observable {
  constructor(private readonly api: IRequester, wait: Sleep = sleep) {
    super();
    this.promotion = new JobModel(api, wait);
    this.promotion.changed.connect(() => this.emit());
  }

  readonly promotion: JobModel;
  notebook: string | null = null;
  models: IModels | null = null;
  selected: IModelDetail | null = null;
  card: ICard | null = null;
  error: string | null = null;
  loading = false;

  private params(): Record<string, string> {
    return this.notebook ? { notebook: this.notebook } : {};
  }

  private async call<T>(what: () => Promise<T>): Promise<T | null> {
    this.error = null;
    this.loading = true;
    this.emit();
    try {
      return await what();
    } catch (error) {
      this.error = (error as ApiError).message ?? String(error);
      return null;
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  /** The registered models of the store the notebook's kernel uses. */
  async load(notebook: string | null = this.notebook): Promise<void> {
    this.notebook = notebook;
    this.models = await this.call(() => this.api.request<IModels>('models', { params: this.params() }));
    if (this.selected) {
      await this.select(this.selected.name);
    }
  }

  async select(name: string): Promise<void> {
    this.card = null;
    this.selected = await this.call(() =>
      this.api.request<IModelDetail>(`models/${encodeURIComponent(name)}`, { params: this.params() })
    );
  }

  async showCard(version: string): Promise<void> {
    if (!this.selected) {
      return;
    }
    const name = encodeURIComponent(this.selected.name);
    this.card = await this.call(() =>
      this.api.request<ICard>(`models/${name}/versions/${version}/card`, { params: this.params() })
    );
  }

  /** Each gate's result as the job reported it (one event per gate). */
  get gateEvents(): IPromotionEvent[] {
    return (this.promotion.events as unknown as IPromotionEvent[]).filter(
      e => e.event === 'PromotionEvent' && e.status !== 'started' && e.step !== 'card'
    );
  }

  get result(): IPromotionResult | null {
    const job = this.promotion.job;
    return job?.state === 'succeeded' ? (job.result as IPromotionResult) : null;
  }

  /** Run the gates on the server as a background job, then show the model it concerned. */
  async promote(request: IPromoteRequest): Promise<IPromotionResult | null> {
    const body: IPromoteRequest = { ...request };
    if (this.notebook) {
      body.notebook = this.notebook;
    }
    await this.promotion.start('promote', body as unknown as Record<string, unknown>);
    const result = this.result;
    await this.load();
    if (result) {
      await this.select(result.name);
    }
    return result;
  }
}

/** 'accuracy>=0.9, rmse<3' -> ['accuracy>=0.9', 'rmse<3'] */
export function parseRequirements(text: string): string[] {
  return text.split(/[,;\n]/).map(s => s.trim()).filter(s => s.length > 0);
}
