/** A scripted IRequester whose answers are the generated server types (schema.ts): a fake
 * with a field the server does not send, or without one it does, does not compile. */
import {
  ApiError,
  IRequester,
  IRequestOptions,
  IRoutes,
  Job,
  ProductionizeResult,
  PromotionResult,
  Route,
  Run,
  RunsPage
} from '../api';

export type Handler<R extends Route> = (options: IRequestOptions) => IRoutes[R];

export class FakeServer implements IRequester {
  requests: { path: string; method: string; params: Record<string, string>; body?: any }[] = [];
  routes: Record<string, (options: IRequestOptions) => unknown> = {};
  blobs: Record<string, Blob> = {};

  /** Answer `path` (a route of IRoutes; `*` matches one path segment) with what `handler`
   * returns: it must be that route's generated response type. */
  on<R extends Route>(path: R, handler: Handler<R>): this {
    this.routes[path] = handler as (options: IRequestOptions) => unknown;
    return this;
  }

  private handler(path: string): ((options: IRequestOptions) => unknown) | undefined {
    if (this.routes[path]) {
      return this.routes[path];
    }
    const segments = path.split('/');
    const match = Object.keys(this.routes).find(route => {
      const parts = route.split('/');
      return parts.length === segments.length && parts.every((p, i) => p === '*' || p === segments[i]);
    });
    return match ? this.routes[match] : undefined;
  }

  async request<T>(path: string, options: IRequestOptions = {}): Promise<T> {
    this.requests.push({ path, method: options.method ?? 'GET', params: options.params ?? {}, body: options.body });
    const handler = this.handler(path);
    if (!handler) {
      throw new ApiError(404, `no route ${path}`);
    }
    return handler(options) as T;
  }

  async blob(path: string, params: Record<string, string>): Promise<Blob> {
    this.requests.push({ path, method: 'GET', params });
    const blob = this.blobs[params.path];
    if (!blob) {
      throw new ApiError(404, `no artifact ${params.path}`);
    }
    return blob;
  }
}

export function run(i: number, extra: Partial<Run> = {}): Run {
  return {
    run_id: `r${i}`,
    experiment_id: '1',
    name: `run-${i}`,
    status: 'FINISHED',
    cell_id: 'c1',
    cell_key: 'k1',
    start_time: 1000 * i,
    end_time: 1000 * i + 2500,
    duration_s: 2.5,
    params: { alpha: String(i / 10), model: 'ridge' },
    metrics: { rmse: 1 / (i + 1), r2: 0.5 + i / 100 },
    tags: {},
    url: `http://127.0.0.1:5000/#/experiments/1/runs/r${i}`,
    ...extra
  };
}

export function page(runs: Run[], extra: Partial<RunsPage> = {}): RunsPage {
  return {
    notebook: 'a.ipynb',
    tracking_uri: 'sqlite:////srv/mlflow.db',
    store_exists: true,
    total: runs.length,
    runs,
    next_page_token: null,
    varying_params: ['alpha'],
    param_names: ['alpha', 'model'],
    metric_names: ['r2', 'rmse'],
    tag_names: [],
    ...extra
  };
}

/** a server holding `n` runs, newest first, paginated by a numeric token */
export function runsServer(n: number, server = new FakeServer()): FakeServer {
  return server.on('runs', ({ params }) => {
    const size = Number(params!.page_size);
    const offset = Number(params!.page_token ?? 0);
    const all = Array.from({ length: n }, (_, k) => run(n - 1 - k));
    const next = offset + size < n ? String(offset + size) : null;
    return page(all.slice(offset, offset + size), { notebook: params!.notebook, total: n, next_page_token: next });
  });
}

export function job(extra: Partial<Job> = {}): Job {
  return {
    id: 'j1',
    kind: 'productionize',
    target: 'a.ipynb',
    state: 'queued',
    events: [],
    n_events: 0,
    result: null,
    error: null,
    created: 1,
    finished: null,
    ...extra
  };
}

/** What the real productionize returns (mlops_nb/productionize/result.py), paths relative. */
export function productionizeResult(extra: Partial<ProductionizeResult> = {}): ProductionizeResult {
  return {
    service_dir: 'nb/a-service',
    train_py: 'nb/a-service/train.py',
    features_py: null,
    image: null,
    checks: [{ name: 'fidelity', passed: true, detail: 'identical predictions on 30 held-out rows' }],
    start_command: 'mlops-nb serve /srv/root/nb/a-service',
    input_columns: ['age', 'income'],
    model_var: 'model',
    takes_raw_columns: false,
    dropped: [{ cell: 3, what: 'df.head()', reason: 'display only' }],
    notes: [],
    next_commands: ['mlops-nb serve /srv/root/nb/a-service'],
    seconds: 12.5,
    ok: true,
    ...extra
  };
}

/** What the real promote returns (mlops_nb/registry/result.py, with the server's verdict). */
export function promotionResult(extra: Partial<PromotionResult> = {}): PromotionResult {
  return {
    name: 'cancer',
    version: '2',
    alias: 'champion',
    passed: true,
    moved: true,
    gates: [
      { gate: 'threshold', status: 'passed', summary: 'accuracy = 0.965, required >= 0.9', metric: 'accuracy',
        value: 0.965, threshold: 0.9, details: { op: '>=' } }
    ],
    previous_version: '1',
    source: 'r2',
    run_id: 'r2',
    model_uri: 'models:/cancer/2',
    registered: true,
    forced: false,
    reason: null,
    decided_by: 'ana@host',
    decided_at: '2026-12-03T10:00:00+00:00',
    tracking_uri: 'sqlite:///mlflow.db',
    card_uri: null,
    decision_uri: null,
    verdict: 'PROMOTED: @champion moved from version 1 to version 2',
    ...extra
  };
}
