/** The Models tab: registered models, one model's versions and history, a card, a promotion. */
import {
  ApiError,
  CardResponse,
  IRequester,
  ModelResponse,
  ModelsResponse,
  PromoteRequest,
  PromotionResult
} from '../api';
import { Observable, Sleep, sleep } from './observable';
import { PromotionModel } from './promotion';

export { parseRequirements } from './promotion';

export class ModelsModel extends Observable {
  constructor(private readonly api: IRequester, wait: Sleep = sleep) {
    super();
    this.promotion = new PromotionModel(api, wait);
    this.promotion.changed.connect(() => this.emit());
  }

  readonly promotion: PromotionModel;
  notebook: string | null = null;
  models: ModelsResponse | null = null;
  selected: ModelResponse | null = null;
  card: CardResponse | null = null;
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
    this.models = await this.call(() => this.api.request<ModelsResponse>('models', { params: this.params() }));
    if (this.selected) {
      await this.select(this.selected.name);
    }
  }

  async select(name: string): Promise<void> {
    this.card = null;
    this.selected = await this.call(() =>
      this.api.request<ModelResponse>(`models/${encodeURIComponent(name)}`, { params: this.params() })
    );
  }

  async showCard(version: string): Promise<void> {
    if (!this.selected) {
      return;
    }
    const name = encodeURIComponent(this.selected.name);
    this.card = await this.call(() =>
      this.api.request<CardResponse>(`models/${name}/versions/${version}/card`, { params: this.params() })
    );
  }

  /** After a promotion (from this tab or the Runs tab): show the model it concerned. */
  async promoted(result: PromotionResult | null): Promise<void> {
    await this.load();
    if (result) {
      await this.select(result.name);
    }
  }

  /** Run the gates on the server as a background job, then show the model it concerned. */
  async promote(request: PromoteRequest): Promise<PromotionResult | null> {
    const body: PromoteRequest = { ...request };
    if (this.notebook) {
      body.notebook = this.notebook;
    }
    const result = await this.promotion.send(body);
    await this.promoted(result);
    return result;
  }
}
