/** The drift of a running service, fetched through the server (no CORS): a verdict with the
 * notebook widget's state, or the neutral "collecting traffic" / "starting" states. */
import {
  DriftReportResponse,
  DriftResponse,
  errorMessage,
  IRequester,
  WidgetModuleResponse
} from '../api';
import { Observable, Sleep, sleep } from './observable';

export type Timer = {
  every: (fn: () => void, ms: number) => unknown;
  cancel: (handle: unknown) => void;
};

export const realTimer: Timer = {
  every: (fn, ms) => setInterval(fn, ms),
  cancel: handle => clearInterval(handle as ReturnType<typeof setInterval>)
};

export const REFRESH_CHOICES_S = [0, 10, 30, 60];
/** a service still loading its reference is asked again this often, this many times */
export const STARTING_RETRY_MS = 2000;
export const STARTING_RETRIES = 60;

export class DriftModel extends Observable {
  constructor(
    private readonly api: IRequester,
    private readonly timer: Timer = realTimer,
    private readonly wait: Sleep = sleep
  ) {
    super();
  }

  url = '';
  result: DriftResponse | null = null;
  error: string | null = null;
  loading = false;
  /** seconds between automatic checks; 0: on demand only */
  refreshSeconds = 0;
  report: string | null = null;
  reportState: 'idle' | 'loading' | 'ready' | 'error' = 'idle';
  reportError = '';
  private handle: unknown = null;
  private retries = 0;
  private module: Promise<WidgetModuleResponse> | null = null;

  setUrl(url: string): void {
    this.url = url;
    this.emit();
  }

  /** The drift widget's ES module and CSS (fetched once from the server). */
  widgetModule(): Promise<WidgetModuleResponse> {
    if (this.module === null) {
      this.module = this.api.request<WidgetModuleResponse>('drift/widget');
      this.module.catch(() => (this.module = null));
    }
    return this.module;
  }

  setRefresh(seconds: number): void {
    this.refreshSeconds = seconds;
    if (this.handle !== null) {
      this.timer.cancel(this.handle);
      this.handle = null;
    }
    if (seconds > 0) {
      this.handle = this.timer.every(() => {
        if (!this.loading && this.url.trim()) {
          void this.check();
        }
      }, seconds * 1000);
    }
    this.emit();
  }

  dispose(): void {
    this.setRefresh(0);
  }

  async check(url: string = this.url, retry = false): Promise<void> {
    if (!retry) {
      this.retries = 0;
    }
    const changed = url.trim() !== this.url.trim();
    this.url = url.trim();
    this.error = null;
    if (!this.url) {
      this.error = 'Enter the URL of a running service, e.g. http://127.0.0.1:8000';
      this.emit();
      return;
    }
    if (changed) {
      this.result = null;
      this.resetReport();
    }
    this.loading = true;
    this.emit();
    try {
      this.result = await this.api.request<DriftResponse>('drift', { params: { url: this.url } });
    } catch (error) {
      this.result = null;
      this.error = errorMessage(error);
    } finally {
      this.loading = false;
      this.emit();
    }
    // a service that is still loading its reference: ask again shortly (not an error)
    if (this.result?.state === 'starting' && this.retries < STARTING_RETRIES) {
      this.retries += 1;
      const asked = this.url;
      await this.wait(STARTING_RETRY_MS);
      if (this.url === asked && this.result?.state === 'starting' && !this.loading) {
        await this.check(asked, true);
      }
    }
  }

  /** Build the full Evidently report on the server (seconds) and keep its HTML. */
  async loadReport(): Promise<void> {
    if (!this.url || this.reportState === 'loading') {
      return;
    }
    this.reportState = 'loading';
    this.reportError = '';
    this.emit();
    try {
      const data = await this.api.request<DriftReportResponse>('drift/report', { params: { url: this.url } });
      this.report = data.html;
      this.reportState = 'ready';
    } catch (error) {
      this.reportState = 'error';
      this.reportError = errorMessage(error);
    } finally {
      this.emit();
    }
  }

  private resetReport(): void {
    this.report = null;
    this.reportState = 'idle';
    this.reportError = '';
  }
}
