/** A promotion: the form's request (checked before it is sent), the job that runs the gates on
 * the server, and its outcome (each gate, the version, the alias or why it did not move). */
import { IRequester, PromoteRequest, PromotionEvent, PromotionResult, promotionResult } from '../api';
import { JobModel } from './job';
import { Observable, Sleep, sleep } from './observable';

export const DEFAULT_ALIAS = 'champion';

/** What the user typed in the Promote form. */
export interface IPromoteForm {
  name: string;
  alias: string;
  /** `accuracy>=0.9, rmse<3`: one requirement per comma, semicolon or line */
  require: string;
  reason: string;
  force: boolean;
}

/** 'accuracy>=0.9, rmse<3' -> ['accuracy>=0.9', 'rmse<3'] */
export function parseRequirements(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** A registered model's name from a notebook path: `work/01_churn.ipynb` -> `01_churn`. */
export function defaultModelName(notebook: string | null): string {
  const base = (notebook ?? '').split('/').pop() ?? '';
  return base.replace(/\.ipynb$/, '').replace(/[^\w.\- ]+/g, '-').slice(0, 256);
}

/** The form as a promote request, or the reason it cannot be sent (what to fill in). */
export function promoteRequest(
  source: string,
  form: IPromoteForm,
  notebook: string | null
): { request: PromoteRequest } | { error: string } {
  const name = form.name.trim();
  if (!source.trim()) {
    return { error: 'Give the run to promote (its id is in the Runs tab).' };
  }
  if (!name) {
    return { error: 'Give the registered model a name.' };
  }
  const reason = form.reason.trim();
  if (form.force && !reason) {
    return { error: 'Forcing a promotion past failed gates needs a reason: it is recorded with it.' };
  }
  const request: PromoteRequest = {
    source: source.trim(),
    name,
    alias: form.alias.trim() || DEFAULT_ALIAS,
    require: parseRequirements(form.require),
    force: form.force
  };
  if (reason) {
    request.reason = reason;
  }
  if (notebook) {
    request.notebook = notebook;
  }
  return { request };
}

export class PromotionModel extends Observable {
  constructor(api: IRequester, wait: Sleep = sleep) {
    super();
    this.job = new JobModel(api, wait);
    this.job.changed.connect(() => this.emit());
  }

  readonly job: JobModel;
  /** what was asked (the run and the model), shown while the gates run */
  request: PromoteRequest | null = null;
  /** the form could not be sent: what to fill in */
  invalid: string | null = null;

  get running(): boolean {
    return this.job.running;
  }

  /** the server's message when the promotion could not run (bad run id, no model in it…) */
  get error(): string | null {
    return this.job.error;
  }

  /** the steps reported so far (register, each gate, alias, card), finished ones only */
  get events(): PromotionEvent[] {
    return this.job.events.filter(
      (e): e is PromotionEvent => e.event === 'PromotionEvent' && e.status !== 'started'
    );
  }

  get result(): PromotionResult | null {
    return promotionResult(this.job.job);
  }

  /** Check the form, then run the promotion on the server and follow it to its end. */
  async promote(source: string, form: IPromoteForm, notebook: string | null): Promise<PromotionResult | null> {
    const checked = promoteRequest(source, form, notebook);
    if ('error' in checked) {
      this.invalid = checked.error;
      this.emit();
      return null;
    }
    return this.send(checked.request);
  }

  async send(request: PromoteRequest): Promise<PromotionResult | null> {
    this.invalid = null;
    this.request = request;
    this.emit();
    await this.job.start('promote', request as unknown as Record<string, unknown>);
    return this.result;
  }

  /** Forget the last promotion (the form closes). */
  reset(): void {
    if (this.running) {
      return;
    }
    this.request = null;
    this.invalid = null;
    this.job.job = null;
    this.job.events = [];
    this.job.error = null;
    this.emit();
  }
}

/** The outcome in one line: the version, and where the alias is now. */
export function headline(result: PromotionResult): string {
  const { name, version, alias } = result;
  if (!result.moved) {
    const stays = result.previous_version ? `stays on version ${result.previous_version}` : 'not set';
    return `Not promoted: ${name} version ${version} (@${alias} ${stays})`;
  }
  if (result.previous_version === version) {
    return `Kept: ${name} version ${version} is already @${alias}`;
  }
  const forced = result.forced && !result.passed ? ' (forced past failed gates)' : '';
  return `Promoted: ${name} version ${version} is now @${alias}${forced}`;
}
