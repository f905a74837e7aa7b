/**
 * The REST surface of the server extension, as the model sees it: a `Requester` that returns
 * parsed JSON or throws an `ApiError` carrying the server's message. No DOM, no JupyterLab.
 */

export interface IRun {
  run_id: string;
  experiment_id: string;
  name: string;
  status: string;
  cell_id: string | null;
  cell_key: string | null;
  start_time: number | null;
  end_time: number | null;
  duration_s: number | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  url: string;
}

export interface IRunsPage {
  notebook: string;
  tracking_uri: string;
  store_exists: boolean;
  runs: IRun[];
  next_page_token: string | null;
}

export interface IStep {
  name: string;
  needs: string[];
  cache_state?: string;
  last_status?: string | null;
  last_run_id?: string | null;
  [key: string]: unknown;
}

export interface IPipeline {
  path: string;
  exists: boolean;
  steps: IStep[];
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface IJob {
  id: string;
  kind: string;
  target: string;
  state: JobState;
  events: Record<string, unknown>[];
  n_events: number;
  result: any;
  error: string | null;
}

export interface IDriftColumn {
  type: string;
  stattest: string;
  score: number;
  threshold: number;
  drifted: boolean;
}

export interface IDrift {
  url: string;
  dataset_drift: boolean;
  drift_share: number;
  n_drifted: number;
  n_columns: number;
  columns: Record<string, IDriftColumn>;
}

/** An error answered by the server (or the network): status 0 when there was no answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface IRequester {
  /** GET or POST `path` under `/mlops-nb/` with query `params` or JSON `body`. */
  request<T>(
    path: string,
    options?: { method?: 'GET' | 'POST'; params?: Record<string, string>; body?: unknown }
  ): Promise<T>;
}

export function queryString(params: Record<string, string> = {}): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  if (entries.length === 0) {
    return '';
  }
  return '?' + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}
