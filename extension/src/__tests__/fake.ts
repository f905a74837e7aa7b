/** A scripted IRequester: answers by route, records every request. */
import { ApiError, IRequester } from '../api';

export type Handler = (options: { method?: string; params?: Record<string, string>; body?: any }) => any;

export class FakeServer implements IRequester {
  requests: { path: string; method: string; params: Record<string, string>; body?: any }[] = [];
  routes: Record<string, Handler> = {};

  on(path: string, handler: Handler): this {
    this.routes[path] = handler;
    return this;
  }

  async request<T>(path: string, options: any = {}): Promise<T> {
    this.requests.push({ path, method: options.method ?? 'GET', params: options.params ?? {}, body: options.body });
    const handler = this.routes[path] ?? this.routes[path.replace(/\/[^/]+$/, '/*')];
    if (!handler) {
      throw new ApiError(404, `no route ${path}`);
    }
    return handler(options) as T;
  }
}

export function run(i: number, extra: Partial<Record<string, any>> = {}) {
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
    url: `http://127.0.0.1:5000/#/experiments/1/runs/r${i}`,
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
    return {
      notebook: params!.notebook,
      tracking_uri: 'sqlite:////srv/mlflow.db',
      store_exists: true,
      runs: all.slice(offset, offset + size),
      next_page_token: next
    };
  });
}
