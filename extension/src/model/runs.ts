/** The runs of the open notebook: filter, sort, columns, pages, selection, refresh after
 * tracked cells. Sorting and filtering are done by the server across every run. */
import { ApiError, IRequester, Run, RunsPage, RunsQuery } from '../api';
import { Observable } from './observable';

export const PAGE_SIZE = 50;
/** metric columns shown before the user picks any */
export const DEFAULT_METRICS = 3;
/** after a `%%track` cell finishes: runs are delivered in the background, usually within ~1 s,
 * longer for the first run of a kernel or a large model */
export const REFRESH_DELAYS_MS = [1000, 3000, 6000, 12000, 25000, 45000, 75000, 120000];
/** while a listed run is still RUNNING (being delivered, or a long cell): look again this often */
export const RUNNING_POLL_MS = 5000;
export const RUNNING_POLLS = 60;

export type Schedule = (fn: () => void, ms: number) => unknown;
const later: Schedule = (fn, ms) => setTimeout(fn, ms);

export type SortKey = NonNullable<RunsQuery['sort']>;
export type Order = NonNullable<RunsQuery['order']>;
export type Status = NonNullable<RunsQuery['status']>;

export interface IRunsError {
  status: number;
  message: string;
  trackingUri: string | null;
}

export interface IFilter {
  status: Status | null;
  tag: string;
  text: string;
}

export function isTrackedCell(source: string): boolean {
  return /^\s*%%track\b/.test(source);
}

export class RunsModel extends Observable {
  constructor(private readonly api: IRequester, private readonly schedule: Schedule = later) {
    super();
  }

  private polls = 0;
  private pollPending = false;

  notebook: string | null = null;
  runs: Run[] = [];
  total = 0;
  nextPageToken: string | null = null;
  trackingUri: string | null = null;
  storeExists = true;
  loading = false;
  loaded = false;
  error: IRunsError | null = null;
  selected = new Set<string>();
  sort: SortKey = 'start_time';
  order: Order = 'desc';
  /** the order the listed rows are in: the sort of the answer shown, not of the last click */
  shown: { sort: SortKey; order: Order } = { sort: 'start_time', order: 'desc' };
  /** each request's ticket; an answer overtaken by a later request is dropped */
  private ticket = 0;
  filter: IFilter = { status: null, tag: '', text: '' };
  varyingParams: string[] = [];
  paramNames: string[] = [];
  metricNames: string[] = [];
  tagNames: string[] = [];
  /** metric columns the user picked; null: the first DEFAULT_METRICS */
  pickedMetrics: string[] | null = null;
  /** the metric the charts show */
  chartMetric: string | null = null;

  /** Show the runs of `notebook` (a path relative to the server root), or nothing. */
  async setNotebook(notebook: string | null): Promise<void> {
    if (notebook === this.notebook) {
      return;
    }
    this.notebook = notebook;
    this.runs = [];
    this.total = 0;
    this.selected.clear();
    this.loaded = false;
    this.error = null;
    this.nextPageToken = null;
    this.pickedMetrics = null;
    this.chartMetric = null;
    this.emit();
    await this.refresh();
  }

  /** The parameter columns: those that differ between this notebook's runs. */
  get paramColumns(): string[] {
    return this.varyingParams;
  }

  get metricColumns(): string[] {
    const picked = this.pickedMetrics ?? this.metricNames.slice(0, DEFAULT_METRICS);
    return picked.filter(m => this.metricNames.includes(m));
  }

  get chartedMetric(): string | null {
    if (this.chartMetric && this.metricNames.includes(this.chartMetric)) {
      return this.chartMetric;
    }
    return this.metricColumns[0] ?? this.metricNames[0] ?? null;
  }

  toggleMetric(metric: string): void {
    const current = this.metricColumns;
    this.pickedMetrics = current.includes(metric)
      ? current.filter(m => m !== metric)
      : [...current, metric];
    this.emit();
  }

  setChartMetric(metric: string): void {
    this.chartMetric = metric;
    this.emit();
  }

  /** Sort by `key` (a click on a column header): the same key again flips the order. */
  async sortBy(key: SortKey): Promise<void> {
    if (this.sort === key) {
      this.order = this.order === 'desc' ? 'asc' : 'desc';
    } else {
      this.sort = key;
      this.order = key === 'name' ? 'asc' : 'desc';
    }
    await this.refresh();
  }

  async setFilter(filter: Partial<IFilter>): Promise<void> {
    this.filter = { ...this.filter, ...filter };
    await this.refresh();
  }

  get filtered(): boolean {
    const f = this.filter;
    return f.status !== null || f.tag.trim() !== '' || f.text.trim() !== '';
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

  /** The selected runs, in list order. */
  get selectedRuns(): Run[] {
    return this.runs.filter(r => this.selected.has(r.run_id));
  }

  /** A cell finished in the open notebook: refetch when it was a tracked cell. */
  cellExecuted(source: string, schedule: Schedule = this.schedule): boolean {
    if (!isTrackedCell(source) || this.notebook === null) {
      return false;
    }
    for (const delay of REFRESH_DELAYS_MS) {
      schedule(() => void this.refresh(), delay);
    }
    return true;
  }

  /** The query the server answers (only non-default parts are sent). */
  query(token: string | null): Record<string, string> {
    const params: Record<string, string> = {
      notebook: this.notebook ?? '',
      page_size: String(PAGE_SIZE)
    };
    if (token) {
      params.page_token = token;
    }
    if (this.sort !== 'start_time' || this.order !== 'desc') {
      params.sort = this.sort;
      params.order = this.order;
    }
    if (this.filter.status) {
      params.status = this.filter.status;
    }
    if (this.filter.tag.trim()) {
      params.tag = this.filter.tag.trim();
    }
    if (this.filter.text.trim()) {
      params.text = this.filter.text.trim();
    }
    return params;
  }

  private async fetch(token: string | null): Promise<RunsPage | null> {
    const notebook = this.notebook;
    if (notebook === null) {
      return null;
    }
    const ticket = ++this.ticket;
    const current = (): boolean => notebook === this.notebook && ticket === this.ticket;
    this.loading = true;
    this.emit();
    const params = this.query(token);
    const sort = { sort: this.sort, order: this.order };
    try {
      const page = await this.api.request<RunsPage>('runs', { params });
      if (!current()) {
        return null;
      }
      this.shown = sort;
      return page;
    } catch (error) {
      if (current()) {
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
      if (ticket === this.ticket) {
        this.loading = false;
      }
      this.emit();
    }
  }

  private finish(page: RunsPage): void {
    this.nextPageToken = page.next_page_token;
    this.trackingUri = page.tracking_uri;
    this.storeExists = page.store_exists;
    this.total = page.total;
    this.varyingParams = page.varying_params;
    this.paramNames = page.param_names;
    this.metricNames = page.metric_names;
    this.tagNames = page.tag_names;
    this.error = null;
    this.loaded = true;
    this.emit();
    this.pollWhileRunning();
  }

  /** A run still RUNNING on the first page: refresh again shortly (bounded), so it turns
   * FINISHED (or FAILED) without a click. */
  private pollWhileRunning(): void {
    const running = this.runs.some(r => r.status === 'RUNNING');
    if (!running) {
      this.polls = 0;
      return;
    }
    if (this.pollPending || this.polls >= RUNNING_POLLS) {
      return;
    }
    this.polls += 1;
    this.pollPending = true;
    const notebook = this.notebook;
    this.schedule(() => {
      this.pollPending = false;
      if (this.notebook === notebook) {
        void this.refresh();
      }
    }, RUNNING_POLL_MS);
  }
}
