import { ApiError } from '../api';
import { isTrackedCell, PAGE_SIZE, REFRESH_DELAYS_MS, RunsModel } from '../model/runs';
import { FakeServer, page, run, runsServer } from './fake';

describe('RunsModel', () => {
  it('loads the first page of the open notebook, newest first', async () => {
    const server = runsServer(120);
    const model = new RunsModel(server);
    await model.setNotebook('work/train.ipynb');
    expect(model.runs).toHaveLength(PAGE_SIZE);
    expect(model.runs[0].name).toBe('run-119');
    expect(model.nextPageToken).toBe('50');
    expect(server.requests[0].params).toEqual({ notebook: 'work/train.ipynb', page_size: '50' });
  });

  it('appends server pages on "load more" until there are none', async () => {
    const server = runsServer(120);
    const model = new RunsModel(server);
    await model.setNotebook('train.ipynb');
    await model.loadMore();
    await model.loadMore();
    expect(model.runs.map(r => r.name)).toEqual(
      Array.from({ length: 120 }, (_, k) => `run-${119 - k}`)
    );
    expect(model.nextPageToken).toBeNull();
    await model.loadMore();
    expect(server.requests).toHaveLength(3);
    expect(server.requests[2].params.page_token).toBe('100');
  });

  it('reports an unreachable store with its URI', async () => {
    const server = new FakeServer().on('runs', () => {
      throw new ApiError(503, 'MLflow tracking store http://127.0.0.1:5000 is unreachable: refused', {
        tracking_uri: 'http://127.0.0.1:5000'
      });
    });
    const model = new RunsModel(server);
    await model.setNotebook('a.ipynb');
    expect(model.error).toEqual({
      status: 503,
      message: 'MLflow tracking store http://127.0.0.1:5000 is unreachable: refused',
      trackingUri: 'http://127.0.0.1:5000'
    });
    expect(model.runs).toEqual([]);
  });

  it('keeps the selection on refresh and lists the selected runs', async () => {
    const model = new RunsModel(runsServer(5));
    await model.setNotebook('a.ipynb');
    model.toggle('r1');
    model.toggle('r3');
    await model.refresh();
    expect(model.selectedRuns.map(r => r.run_id)).toEqual(['r3', 'r1']);
    model.toggle('r1');
    expect([...model.selected]).toEqual(['r3']);
  });

  it('shows the varying params and the first metrics as columns; the user picks metrics', async () => {
    const server = new FakeServer().on('runs', () =>
      page([run(1)], { varying_params: ['max_depth'], metric_names: ['accuracy', 'f1', 'loss', 'roc_auc'] })
    );
    const model = new RunsModel(server);
    await model.setNotebook('a.ipynb');
    expect(model.paramColumns).toEqual(['max_depth']);
    expect(model.metricColumns).toEqual(['accuracy', 'f1', 'loss']);
    model.toggleMetric('f1');
    model.toggleMetric('roc_auc');
    expect(model.metricColumns).toEqual(['accuracy', 'loss', 'roc_auc']);
    expect(model.chartedMetric).toBe('accuracy');
    model.setChartMetric('loss');
    expect(model.chartedMetric).toBe('loss');
  });

  it('sorts and filters on the server: a header click sorts, a second flips the order', async () => {
    const server = runsServer(3);
    const model = new RunsModel(server);
    await model.setNotebook('a.ipynb');
    await model.sortBy('metrics.rmse');
    expect(server.requests[1].params).toMatchObject({ sort: 'metrics.rmse', order: 'desc' });
    await model.sortBy('metrics.rmse');
    expect(server.requests[2].params).toMatchObject({ sort: 'metrics.rmse', order: 'asc' });
    await model.setFilter({ status: 'FAILED', text: ' depth ', tag: 'team=ml' });
    expect(server.requests[3].params).toMatchObject({ status: 'FAILED', text: 'depth', tag: 'team=ml' });
    expect(model.filtered).toBe(true);
    await model.setFilter({ status: null, text: '', tag: '' });
    expect(server.requests[4].params.status).toBeUndefined();
    expect(model.filtered).toBe(false);
  });

  it('shows the rows of the latest request: a slower, older answer does not overwrite a sort', async () => {
    // the fake sorts like the server: rmse = 1/(i+1), so descending rmse is run-0 first
    const server = new FakeServer().on('runs', ({ params }) => {
      const runs = [run(2), run(1), run(0)];
      return page(params!.sort === 'metrics.rmse' ? [...runs].reverse() : runs);
    });
    const answers: (() => void)[] = [];
    // every answer waits until the test releases it, so the older one can arrive last
    const slow = {
      request: <T>(path: string, options: any): Promise<T> =>
        new Promise<T>(resolve => answers.push(() => resolve(server.request<T>(path, options)))),
      blob: server.blob.bind(server)
    };
    const model = new RunsModel(slow);
    const opened = model.setNotebook('a.ipynb');
    const sorted = model.sortBy('metrics.rmse');
    expect(model.shown).toEqual({ sort: 'start_time', order: 'desc' });
    answers[1]();
    await sorted;
    answers[0]();
    await opened;
    expect(model.shown).toEqual({ sort: 'metrics.rmse', order: 'desc' });
    expect(model.runs.map(r => r.name)).toEqual(['run-0', 'run-1', 'run-2']);
    expect(model.loading).toBe(false);
  });

  it('forgets runs and selection when another notebook opens', async () => {
    const model = new RunsModel(runsServer(3));
    await model.setNotebook('a.ipynb');
    model.toggle('r0');
    await model.setNotebook(null);
    expect(model.runs).toEqual([]);
    expect(model.selected.size).toBe(0);
  });

  it('refetches after a tracked cell finishes, not after other cells', async () => {
    const server = runsServer(1);
    const model = new RunsModel(server);
    await model.setNotebook('a.ipynb');
    const scheduled: number[] = [];
    const callbacks: (() => void)[] = [];
    const schedule = (fn: () => void, ms: number) => {
      scheduled.push(ms);
      callbacks.push(fn);
    };
    expect(model.cellExecuted('x = 1\n%%track', schedule)).toBe(false);
    expect(model.cellExecuted('%%track --name base\nx = 1', schedule)).toBe(true);
    expect(scheduled).toEqual(REFRESH_DELAYS_MS);
    server.on('runs', () => page([run(1), run(0)]));
    callbacks[0]();
    await new Promise(r => setTimeout(r, 0));
    expect(model.runs.map(r => r.run_id)).toEqual(['r1', 'r0']);
  });

  it('looks again while a listed run is RUNNING, until it is not', async () => {
    let status: 'RUNNING' | 'FINISHED' = 'RUNNING';
    const server = new FakeServer().on('runs', () => page([run(1, { status })]));
    const pending: [() => void, number][] = [];
    const model = new RunsModel(server, (fn, ms) => pending.push([fn, ms]));
    await model.setNotebook('a.ipynb');
    expect(pending.map(p => p[1])).toEqual([5000]);
    pending.shift()![0]();
    await new Promise(r => setTimeout(r, 0));
    expect(pending).toHaveLength(1); // still running: once more
    status = 'FINISHED';
    pending.shift()![0]();
    await new Promise(r => setTimeout(r, 0));
    expect(model.runs[0].status).toBe('FINISHED');
    expect(pending).toHaveLength(0);
  });

  it('recognises tracked cells by their first line', () => {
    expect(isTrackedCell('  %%track\nx=1')).toBe(true);
    expect(isTrackedCell('%%tracking\nx=1')).toBe(false);
    expect(isTrackedCell('%%time\n%%track')).toBe(false);
  });
});
