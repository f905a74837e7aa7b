/** The runs of the open notebook: pages, selection, comparison, refresh after tracked cells. */
import { ApiError, IRequester, IRun, IRunsPage } from '../api';
import { compareRuns, IComparison } from '../compare';
import { Observable } from './observable';

export const PAGE_SIZE = 50;
/** after a `%%track` cell finishes: runs are delivered in the background, usually within ~1 s,
 * longer for the first run of a kernel or a large model */
export const REFRESH_DELAYS_MS = [1000, 3000, 6000, 12000, 25000];

export interface IRunsError {
  status: number;
  message: string;
  trackingUri: string | null;
}

export function isTrackedCell(source: string): boolean {
  return /^\s*%%track\b/.test(source);
}

export class RunsModel extends Observable {
  constructor(private readonly api: IRequester) {
    super();
  }

  notebook: string | null = null;
  runs: IRun[] = [];
  nextPageToken: string | null = null;
  trackingUri: string | null = null;
  storeExists = true;
  loading = false;
  loaded = false;
  error: IRunsError | null = null;
  selected = new Set<string>();
  metric: string | null = null;

  /** Show the runs of `notebook` (a path relative to the server root), or nothing. */
  async setNotebook(notebook: string | null): Promise<void> {
    if (notebook === this.notebook) {
      return;
    }
    this.notebook = notebook;
    this.runs = [];
    this.selected.clear();
    this.loaded = false;
    this.error = null;
    this.nextPageToken = null;
    this.emit();
    await this.refresh();
  }

  /** Reload the first page (keeps the selection of runs still listed). */
  async refresh(): Promise<void> {
    const page = await this.fetch(null);
    if (page) {
      this.runs = page.runs;
      const ids = new Set(page.runs.map(r => r.run_id));
      this.selected = new Set([...this.selected].filter(id => ids.has(id)));
      this.finish(page);
    }
  }

  /** Append the next page, fetched from the server (which paginates). */
  async loadMore(): Promise<void> {
    if (!this.nextPageToken || this.loading) {
      return;
    }
    const page = await this.fetch(this.nextPageToken);
    if (page) {
      const known = new Set(this.runs.map(r => r.run_id));
      this.runs = [...this.runs, ...page.runs.filter(r => !known.has(r.run_id))];
      this.finish(page);
    }
  }

  toggle(runId: string): void {
    if (this.selected.has(runId)) {
      this.selected.delete(runId);
    } else {
      this.selected.add(runId);
    }
    this.emit();
  }

  setMetric(metric: string): void {
    this.metric = metric;
    this.emit();
  }

  /** The selected runs compared, or null with fewer than two selected. */
  get comparison(): IComparison | null {
    const runs = this.runs.filter(r => this.selected.has(r.run_id));
    return runs.length < 2 ? null : compareRuns(runs, this.metric);
  }

  /** A cell finished in the open notebook: refetch when it was a tracked cell. */
  cellExecuted(
    source: string,
    schedule: (fn: () => void, ms: number) => unknown = (fn, ms) => setTimeout(fn, ms)
  ): boolean {
    if (!isTrackedCell(source) || this.notebook === null) {
      return false;
    }
    for (const delay of REFRESH_DELAYS_MS) {
      schedule(() => void this.refresh(), delay);
    }
    return true;
  }

  private async fetch(token: string | null): Promise<IRunsPage | null> {
    const notebook = this.notebook;
    if (notebook === null) {
      return null;
    }
    this.loading = true;
    this.emit();
    const params: Record<string, string> = { notebook, page_size: String(PAGE_SIZE) };
    if (token) {
      params.page_token = token;
    }
    try {
      const page = await this.api.request<IRunsPage>('runs', { params });
      return notebook === this.notebook ? page : null;
    } catch (error) {
      if (notebook === this.notebook) {
        const e = error instanceof ApiError ? error : new ApiError(0, String(error));
        const uri = e.body['tracking_uri'];
        this.error = {
          status: e.status,
          message: e.message,
          trackingUri: typeof uri === 'string' ? uri : null
        };
      }
      return null;
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  private finish(page: IRunsPage): void {
    this.nextPageToken = page.next_page_token;
    this.trackingUri = page.tracking_uri;
    this.storeExists = page.store_exists;
    this.error = null;
    this.loaded = true;
    this.emit();
  }
}
