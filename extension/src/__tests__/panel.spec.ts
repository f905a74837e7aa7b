import { ApiError, Job } from '../api';
import { DriftModel } from '../model/drift';
import { JobModel } from '../model/job';
import { PanelModel } from '../model/panel';
import { versionMismatch } from '../version';
import { FakeServer, job, productionizeResult, runsServer } from './fake';
import { productionizeSteps } from '../steps';

const noWait = () => Promise.resolve();

function jobServer(states: Job['state'][], result: Job['result'] = null, error: string | null = null): FakeServer {
  let polls = 0;
  return new FakeServer()
    .on('productionize', () => job())
    .on('jobs/*', ({ params }) => {
      const state = states[Math.min(polls, states.length - 1)];
      polls += 1;
      const all = states.slice(0, polls).map((_, i) => ({
        event: 'ProductionizeEvent' as const, step: `s${i}`, status: 'start' as const, message: 'm', elapsed: i
      }));
      const since = Number(params!.since);
      return job({ state, events: all.slice(since), n_events: all.length,
        result: state === 'succeeded' ? result : null, error: state === 'failed' ? error : null });
    });
}

describe('JobModel', () => {
  it('polls with "since" until the job succeeds, collecting each event once', async () => {
    const server = jobServer(['running', 'running', 'succeeded'], productionizeResult());
    const job = new JobModel(server, noWait);
    const end = await job.start('productionize', { notebook: 'a.ipynb' });
    expect(end!.state).toBe('succeeded');
    expect(end!.result).toEqual(productionizeResult());
    expect(job.events.map(e => (e.event === 'ProductionizeEvent' ? e.step : ''))).toEqual(['s0', 's1', 's2']);
    const polls = server.requests.filter(r => r.path === 'jobs/j1').map(r => r.params.since);
    expect(polls).toEqual(['0', '1', '2']);
    expect(job.running).toBe(false);
  });

  it('shows the error of a failed job', async () => {
    const job = new JobModel(jobServer(['running', 'failed'], null, 'no model in a.ipynb'), noWait);
    await job.start('productionize', {});
    expect(job.job!.state).toBe('failed');
    expect(job.error).toBe('no model in a.ipynb');
  });

  it('shows a refused start (e.g. 501: part not installed) as an error', async () => {
    const server = new FakeServer().on('productionize', () => {
      throw new ApiError(501, "Productionize is not available: pip install -U 'mlops-nb[all]'");
    });
    const job = new JobModel(server, noWait);
    expect(await job.start('productionize', {})).toBeNull();
    expect(job.error).toContain('pip install');
  });

  it('follows the already running job on 409', async () => {
    const server = jobServer(['succeeded']).on('productionize', () => {
      throw new ApiError(409, 'already running', { job_id: 'j1' });
    });
    const job = new JobModel(server, noWait);
    expect((await job.start('productionize', {}))!.state).toBe('succeeded');
  });
});

describe('PanelModel', () => {
  it('warns with the install command when the server version differs', async () => {
    const model = new PanelModel(new FakeServer().on('version', () => ({ version: '0.2.0', tracking_uri: 'sqlite:////srv/mlflow.db' })), '0.1.0', noWait);
    const warning = await model.checkVersion();
    expect(warning).toContain('0.1.0');
    expect(warning).toContain('pip install "mlops-nb==0.2.0"');
    expect(model.versionWarning).toBe(warning);
  });

  it('is silent when versions match and says what to install when the server is missing', () => {
    expect(versionMismatch('0.1.0', '0.1.0')).toBeNull();
    expect(versionMismatch('0.1.0', null)).toContain('pip install "mlops-nb==0.1.0"');
  });

  it('productionizes the open notebook and shows the Productionize tab', async () => {
    const server = runsServer(0, jobServer(['succeeded'], productionizeResult()))
      .on('pipeline', () => ({ path: 'pipeline.yaml', exists: false, steps: [] }));
    const model = new PanelModel(server, '0.1.0', noWait);
    await model.setNotebook('dir/a.ipynb');
    await model.runProductionize();
    expect(model.tab).toBe('productionize');
    const post = server.requests.find(r => r.path === 'productionize')!;
    expect(post.body).toEqual({ notebook: 'dir/a.ipynb', build: false, force: true });
    expect(model.serviceDir).toBe('nb/a-service');
    // productionize makes a folder, not a running service: the drift URL waits for "Start"
    expect(model.drift.url).toBe('');
  });
});

describe('PanelModel.startService', () => {
  it('starts the service on the server and points the drift check at it', async () => {
    let polls = 0;
    const server = new FakeServer()
      .on('services', () => job({ id: 's1', kind: 'serve', state: 'running' }))
      .on('jobs/*', () => {
        polls += 1;
        const info = { service_dir: 'nb/a-service', url: 'http://127.0.0.1:40001', pid: 7, running: true, log: 'nb/a-service/serve.log' };
        return job({ id: 's1', kind: 'serve', state: polls > 1 ? 'succeeded' : 'running', result: polls > 1 ? info : null });
      });
    const model = new PanelModel(server, '0.1.0', noWait);
    expect(await model.startService('nb/a-service')).toBe('http://127.0.0.1:40001');
    expect(server.requests[0].body).toEqual({ service_dir: 'nb/a-service' });
    expect(model.drift.url).toBe('http://127.0.0.1:40001');
  });

  it('leaves the drift URL alone when the service does not start', async () => {
    const server = new FakeServer().on('services', () => {
      throw new ApiError(400, 'data is not a service made by mlops-nb productionize');
    });
    const model = new PanelModel(server, '0.1.0', noWait);
    expect(await model.startService('data')).toBeNull();
    expect(model.service.error).toContain('not a service');
    expect(model.drift.url).toBe('');
  });
});

describe('DriftModel', () => {
  const widget = {
    summary: {
      dataset_drift: true, drift_share: 0.5, n_drifted: 1, n_columns: 2,
      columns: {
        age: { type: 'num', stattest: 'wasserstein', score: 0.4, threshold: 0.1, drifted: true },
        city: { type: 'cat', stattest: 'jensenshannon', score: 0.02, threshold: 0.1, drifted: false }
      }
    },
    distributions: {}, stattest_names: {}, note: '', report_state: 'idle' as const
  };

  it('asks for a URL when empty; shows "collecting traffic" as a state, not an error', async () => {
    const server = new FakeServer().on('drift', ({ params }) => ({
      url: params!.url + '/monitoring/drift', state: 'collecting', message: 'collecting traffic (12 of 30 rows)',
      current_rows: 12, min_rows: 30, widget: null
    }));
    const drift = new DriftModel(server);
    await drift.check('  ');
    expect(drift.error).toContain('Enter the URL');
    await drift.check(' http://127.0.0.1:8000 ');
    expect(server.requests[0].params).toEqual({ url: 'http://127.0.0.1:8000' });
    expect(drift.error).toBeNull();
    expect(drift.result!.state).toBe('collecting');
    expect(drift.result!.message).toBe('collecting traffic (12 of 30 rows)');
  });

  it('refreshes every N seconds until turned off, and loads the report on demand', async () => {
    const server = new FakeServer()
      .on('drift', () => ({ url: 'u', state: 'ready', message: 'drift detected', current_rows: 40, min_rows: null, widget }))
      .on('drift/report', () => ({ url: 'u', html: '<html>report</html>' }));
    const ticks: (() => void)[] = [];
    const cancelled: unknown[] = [];
    const drift = new DriftModel(server, { every: (fn, ms) => { ticks.push(fn); return ms; }, cancel: h => cancelled.push(h) });
    drift.setUrl('http://127.0.0.1:8000');
    drift.setRefresh(10);
    ticks[0]();
    await new Promise(r => setTimeout(r, 0));
    expect(server.requests.filter(r => r.path === 'drift')).toHaveLength(1);
    expect(drift.result!.widget!.summary.n_drifted).toBe(1);
    drift.setRefresh(0);
    expect(cancelled).toEqual([10000]);
    await drift.loadReport();
    expect(drift.reportState).toBe('ready');
    expect(drift.report).toContain('report');
  });

  it('asks a starting service again until it has its reference', async () => {
    const states = ['starting', 'starting', 'collecting'] as const;
    let n = 0;
    const server = new FakeServer().on('drift', () => {
      const state = states[Math.min(n++, states.length - 1)];
      return { url: 'u', state, message: state, current_rows: 0, min_rows: 30, widget: null };
    });
    const waits: number[] = [];
    const drift = new DriftModel(server, undefined, ms => { waits.push(ms); return Promise.resolve(); });
    await drift.check('http://127.0.0.1:8000');
    expect(drift.result!.state).toBe('collecting');
    expect(waits).toEqual([2000, 2000]);
  });

  it('shows why the service gave no verdict', async () => {
    const drift = new DriftModel(new FakeServer().on('drift', () => {
      throw new ApiError(502, 'http://127.0.0.1:9/monitoring/drift is unreachable: refused');
    }));
    await drift.check('http://127.0.0.1:9');
    expect(drift.result).toBeNull();
    expect(drift.error).toContain('unreachable');
  });
});

describe('productionizeSteps', () => {
  it('makes one line per step with its state, time and message; an open step fails with the job', () => {
    const e = (step: string, status: 'start' | 'done' | 'fail' | 'info', message: string, elapsed: number) =>
      ({ event: 'ProductionizeEvent' as const, step, status, message, elapsed });
    const events = [
      e('extract', 'start', 'reading a.ipynb', 0), e('extract', 'info', 'dropped from cell 2: df.head()', 0.1),
      e('extract', 'done', 'model `model`', 0.5), e('fidelity', 'start', 'train.py vs notebook', 0.6)
    ];
    const running = productionizeSteps(events, false);
    expect(running.map(l => [l.step, l.state])).toEqual([['extract', 'done'], ['fidelity', 'running']]);
    expect(running[0].seconds).toBeCloseTo(0.5);
    expect(running[0].infos).toEqual(['dropped from cell 2: df.head()']);
    const failed = productionizeSteps([...events, e('fidelity', 'fail', 'predictions differ', 3)], true);
    expect(failed[1]).toMatchObject({ state: 'failed', message: 'predictions differ' });
    expect(productionizeSteps(events, true)[1].state).toBe('failed');
  });
});

describe('PipelineModel', () => {
  it('overlays the running job events on the stored step states', async () => {
    const { PipelineModel, layers } = await import('../model/pipeline');
    const step = (name: string, needs: string[]) => ({
      name, needs, cache_state: 'never-run', last_status: null, last_run_id: null, notebook: `${name}.ipynb`,
      outputs: [], reason: 'no successful run yet', last_error: null, failed_cell: null
    });
    let polls = 0;
    const server = new FakeServer()
      .on('pipeline', () => ({ path: 'pipeline.yaml', exists: true, steps: [step('prepare', []), step('train', ['prepare'])] }))
      .on('pipeline/run', () => job({ kind: 'pipeline' }))
      .on('jobs/*', () => {
        polls += 1;
        const events = [{ event: 'PipelineEvent' as const, kind: 'started', step: 'prepare', status: 'RUNNING', message: '', run_id: null, duration: null }];
        return job({ kind: 'pipeline', state: polls > 1 ? 'succeeded' : 'running', events: polls === 1 ? events : [], n_events: 1 });
      });
    const model = new PipelineModel(server, () => {
      expect(model.steps.map(s => s.live)).toEqual(['started', 'queued']);
      return Promise.resolve();
    });
    await model.load('a.ipynb');
    expect(model.steps.map(s => s.live)).toEqual([null, null]);
    expect([...layers(model.steps).entries()]).toEqual([['prepare', 0], ['train', 1]]);
    await model.run('a.ipynb');
    expect(server.requests.filter(r => r.path === 'pipeline')).toHaveLength(2);
  });

  it('says when the pipeline a finished job ran failed at a step', async () => {
    const { runOutcome } = await import('../model/pipeline');
    const outcome = (status: string, steps: [string, string][]) =>
      runOutcome(job({ kind: 'pipeline', state: 'succeeded', result: {
        pipeline: 'p/pipeline.yaml', status, run_id: 'r', duration: 3,
        steps: Object.fromEntries(steps.map(([name, s]) => [name, { name, status: s, run_id: null, duration: 1, message: '' }]))
      } }));
    expect(outcome('FINISHED', [['a', 'FINISHED'], ['b', 'CACHED']])).toBe('finished');
    expect(outcome('FAILED', [['a', 'CACHED'], ['b', 'FAILED'], ['c', 'SKIPPED']])).toBe('failed at b');
    expect(runOutcome(job({ kind: 'pipeline', state: 'running' }))).toBe('running…');
    expect(runOutcome(job({ kind: 'pipeline', state: 'failed', error: 'bad yaml' }))).toBe('failed');
    expect(runOutcome(null)).toBe('');
  });
});
