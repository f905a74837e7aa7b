import { ApiError } from '../api';
import { DriftModel } from '../model/drift';
import { JobModel } from '../model/job';
import { PanelModel } from '../model/panel';
import { versionMismatch } from '../version';
import { FakeServer, runsServer } from './fake';

const noWait = () => Promise.resolve();

function jobServer(states: string[], result: any = null, error: string | null = null): FakeServer {
  let polls = 0;
  return new FakeServer()
    .on('productionize', () => ({ id: 'j1', kind: 'productionize', state: 'queued', events: [], n_events: 0 }))
    .on('jobs/*', ({ params }) => {
      const state = states[Math.min(polls, states.length - 1)];
      polls += 1;
      const all = states.slice(0, polls).map((s, i) => ({ event: 'StepStarted', step: `s${i}` }));
      const since = Number(params!.since);
      return { id: 'j1', kind: 'productionize', state, events: all.slice(since), n_events: all.length,
        result: state === 'succeeded' ? result : null, error: state === 'failed' ? error : null };
    });
}

describe('JobModel', () => {
  it('polls with "since" until the job succeeds, collecting each event once', async () => {
    const server = jobServer(['running', 'running', 'succeeded'], { service_dir: '/srv/svc' });
    const job = new JobModel(server, noWait);
    const end = await job.start('productionize', { notebook: 'a.ipynb' });
    expect(end!.state).toBe('succeeded');
    expect(end!.result).toEqual({ service_dir: '/srv/svc' });
    expect(job.events.map(e => e.step)).toEqual(['s0', 's1', 's2']);
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
    const model = new PanelModel(new FakeServer().on('version', () => ({ version: '0.2.0' })), '0.1.0', noWait);
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
    const server = runsServer(0, jobServer(['succeeded'], { service_dir: 's', url: 'http://127.0.0.1:8000' }))
      .on('pipeline', () => ({ path: 'pipeline.yaml', exists: false, steps: [] }));
    const model = new PanelModel(server, '0.1.0', noWait);
    await model.setNotebook('dir/a.ipynb');
    await model.runProductionize();
    expect(model.tab).toBe('productionize');
    const post = server.requests.find(r => r.path === 'productionize')!;
    expect(post.body).toEqual({ notebook: 'dir/a.ipynb', build: false, force: true });
    expect(model.drift.url).toBe('http://127.0.0.1:8000');
  });
});

describe('PanelModel.startService', () => {
  it('starts the service on the server and points the drift check at it', async () => {
    let polls = 0;
    const server = new FakeServer()
      .on('services', () => ({ id: 's1', kind: 'serve', state: 'running', events: [], n_events: 0 }))
      .on('jobs/*', () => {
        polls += 1;
        return { id: 's1', kind: 'serve', state: polls > 1 ? 'succeeded' : 'running', events: [], n_events: 0,
          result: polls > 1 ? { url: 'http://127.0.0.1:40001', running: true } : null, error: null };
      });
    const model = new PanelModel(server, '0.1.0', noWait);
    expect(await model.startService('/srv/root/nb/a-service')).toBe('http://127.0.0.1:40001');
    expect(server.requests[0].body).toEqual({ service_dir: '/srv/root/nb/a-service' });
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
  it('lists drifted columns by score and asks for a URL when empty', async () => {
    const server = new FakeServer().on('drift', ({ params }) => ({
      url: params!.url + '/monitoring/drift', dataset_drift: true, drift_share: 0.66, n_drifted: 2, n_columns: 3,
      columns: {
        a: { type: 'num', stattest: 'wasserstein', score: 0.2, threshold: 0.1, drifted: true },
        b: { type: 'num', stattest: 'wasserstein', score: 0.05, threshold: 0.1, drifted: false },
        c: { type: 'cat', stattest: 'jensenshannon', score: 0.5, threshold: 0.1, drifted: true }
      }
    }));
    const drift = new DriftModel(server);
    await drift.check('  ');
    expect(drift.error).toContain('Enter the URL');
    await drift.check(' http://127.0.0.1:8000 ');
    expect(server.requests[0].params).toEqual({ url: 'http://127.0.0.1:8000' });
    expect(drift.driftedColumns).toEqual(['c', 'a']);
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
