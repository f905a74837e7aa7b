import { ModelResponse } from '../api';
import { ModelsModel } from '../model/models';
import { PanelModel } from '../model/panel';
import {
  defaultModelName,
  headline,
  IPromoteForm,
  parseRequirements,
  PromotionModel,
  promoteRequest
} from '../model/promotion';
import { FakeServer, job, promotionResult, run, runsServer } from './fake';

const noWait = () => Promise.resolve();

const detail: ModelResponse = {
  name: 'cancer',
  tracking_uri: 'sqlite:///mlflow.db',
  versions: [
    { version: '2', aliases: [], run_id: 'r2', model_id: 'm-2', created: 2, gates_passed: false,
      last_decision: { alias: 'champion', from_version: '1', to_version: '2', passed: false, moved: false,
        forced: false, reason: null, by: 'ana', at: '2026-12-03T10:00:00+00:00',
        gates: [{ gate: 'threshold', status: 'failed', value: 0.88, threshold: 0.95 }] },
      has_card: true },
    { version: '1', aliases: ['champion'], run_id: 'r1', model_id: 'm-1', created: 1,
      gates_passed: true, last_decision: null, has_card: true }
  ],
  history: []
};

const refused = promotionResult({
  passed: false,
  moved: false,
  gates: [{ gate: 'threshold', status: 'failed', summary: 'accuracy = 0.88, required >= 0.95', metric: 'accuracy',
    value: 0.88, threshold: 0.95, details: {} }],
  verdict: 'NOT PROMOTED: threshold failed; @champion stays on version 1 (--force --reason TEXT overrides, and is recorded)'
});

/** a registry whose promote job reports register, a gate and the alias, over two polls */
function registryServer(result = refused): FakeServer {
  let polls = 0;
  const events = [
    { event: 'PromotionEvent' as const, step: 'register', status: 'done' as const, message: 'registered cancer version 2' },
    { event: 'PromotionEvent' as const, step: 'threshold', status: result.passed ? 'passed' as const : 'failed' as const,
      message: result.gates[0].summary },
    { event: 'PromotionEvent' as const, step: 'alias', status: 'done' as const, message: result.verdict }
  ];
  return new FakeServer()
    .on('models', () => ({ tracking_uri: 'sqlite:///mlflow.db',
      models: [{ name: 'cancer', aliases: { champion: '1' }, latest_version: '2', description: '', updated: 0 }] }))
    .on('models/*', () => detail)
    .on('models/*/versions/*/card', () => ({ name: 'cancer', version: '1', aliases: ['champion'],
      markdown: '# Model card', html: '<h1>Model card: cancer version 1</h1>' }))
    .on('promote', () => job({ id: 'p1', kind: 'promote', target: 'cancer' }))
    .on('jobs/*', ({ params }) => {
      polls += 1;
      const done = polls >= 2;
      const all = events.slice(0, done ? 3 : 1);
      return job({ id: 'p1', kind: 'promote', target: 'cancer', state: done ? 'succeeded' : 'running',
        events: all.slice(Number(params!.since)), n_events: all.length, error: null,
        result: done ? result : null });
    });
}

const form = (extra: Partial<IPromoteForm> = {}): IPromoteForm => ({
  name: 'cancer', alias: 'champion', require: 'accuracy>=0.95', reason: '', force: false, ...extra
});

describe('ModelsModel', () => {
  it('lists the models of the notebook\'s store, then a model\'s versions and a card', async () => {
    const server = registryServer();
    const model = new ModelsModel(server, noWait);
    await model.load('work/train.ipynb');
    expect(model.models!.models[0].aliases).toEqual({ champion: '1' });
    expect(server.requests[0]).toMatchObject({ path: 'models', params: { notebook: 'work/train.ipynb' } });
    await model.select('cancer');
    expect(server.requests[1].path).toBe('models/cancer');
    expect(model.selected!.versions.map(v => [v.version, v.gates_passed])).toEqual([['2', false], ['1', true]]);
    expect(model.selected!.versions[0].last_decision!.gates[0]).toEqual(
      { gate: 'threshold', status: 'failed', value: 0.88, threshold: 0.95 });
    await model.showCard('1');
    expect(server.requests[2].path).toBe('models/cancer/versions/1/card');
    expect(model.card!.html).toContain('cancer version 1');
  });

  it('runs a promotion as a job, keeps each step, then shows the model', async () => {
    const server = registryServer();
    const model = new ModelsModel(server, noWait);
    await model.load(null);
    const result = await model.promote({ source: 'r2', name: 'cancer', require: ['accuracy>=0.95'] });
    expect(result!.moved).toBe(false);
    const post = server.requests.find(r => r.path === 'promote')!;
    expect(post.body).toEqual({ source: 'r2', name: 'cancer', require: ['accuracy>=0.95'] });
    expect(model.promotion.events.map(e => [e.step, e.status])).toEqual([
      ['register', 'done'], ['threshold', 'failed'], ['alias', 'done']
    ]);
    expect(model.selected!.name).toBe('cancer');
  });

  it('shows the server\'s message when the store cannot be read', async () => {
    const model = new ModelsModel(new FakeServer(), noWait);
    await model.load(null);
    expect(model.error).toBe('no route models');
    expect(model.loading).toBe(false);
  });
});

describe('promotion', () => {
  it('splits requirements', () => {
    expect(parseRequirements('accuracy>=0.9, rmse<3;\n f1 > 0.5')).toEqual(['accuracy>=0.9', 'rmse<3', 'f1 > 0.5']);
  });

  it('names the model after the notebook by default', () => {
    expect(defaultModelName('work/01_churn model.ipynb')).toBe('01_churn model');
    expect(defaultModelName('a/b/(x)+y.ipynb')).toBe('-x-y');
    expect(defaultModelName(null)).toBe('');
  });

  it('turns the form into the promote request, and refuses what the server would', () => {
    expect(promoteRequest(' r2 ', form({ alias: ' ', require: 'accuracy>=0.9, f1>0.8' }), 'nb/a.ipynb')).toEqual({
      request: { source: 'r2', name: 'cancer', alias: 'champion', require: ['accuracy>=0.9', 'f1>0.8'],
        force: false, notebook: 'nb/a.ipynb' }
    });
    expect(promoteRequest('r2', form({ force: true, reason: ' hotfix ' }), null)).toEqual({
      request: { source: 'r2', name: 'cancer', alias: 'champion', require: ['accuracy>=0.95'], force: true, reason: 'hotfix' }
    });
    expect(promoteRequest('r2', form({ force: true }), null)).toEqual({ error: expect.stringContaining('needs a reason') });
    expect(promoteRequest('r2', form({ name: ' ' }), null)).toEqual({ error: expect.stringContaining('name') });
    expect(promoteRequest('', form(), null)).toEqual({ error: expect.stringContaining('run') });
  });

  it('says where the alias is after each kind of decision', () => {
    expect(headline(promotionResult())).toBe('Promoted: cancer version 2 is now @champion');
    expect(headline(refused)).toBe('Not promoted: cancer version 2 (@champion stays on version 1)');
    expect(headline(promotionResult({ moved: false, passed: false, previous_version: null })))
      .toBe('Not promoted: cancer version 2 (@champion not set)');
    expect(headline(promotionResult({ previous_version: '2' }))).toBe('Kept: cancer version 2 is already @champion');
    expect(headline(promotionResult({ forced: true, passed: false, reason: 'hotfix' })))
      .toBe('Promoted: cancer version 2 is now @champion (forced past failed gates)');
  });

  it('does not send a form the server would refuse', async () => {
    const server = registryServer();
    const promotion = new PromotionModel(server, noWait);
    expect(await promotion.promote('r2', form({ force: true }), null)).toBeNull();
    expect(promotion.invalid).toContain('needs a reason');
    expect(server.requests).toEqual([]);
  });

  it('shows why a promotion could not run (a failed job)', async () => {
    const server = new FakeServer()
      .on('promote', () => job({ id: 'p1', kind: 'promote' }))
      .on('jobs/*', () => job({ id: 'p1', kind: 'promote', state: 'failed', error: 'run r9 has no model' }));
    const promotion = new PromotionModel(server, noWait);
    expect(await promotion.promote('r9', form(), null)).toBeNull();
    expect(promotion.error).toBe('run r9 has no model');
    expect(promotion.result).toBeNull();
  });
});

describe('Promote from the Runs tab', () => {
  it('promotes the row\'s run into the notebook\'s store and keeps the gates and the verdict', async () => {
    const server = registryServer(promotionResult());
    runsServer(3, server);
    const panel = new PanelModel(server, '0.1.0', noWait);
    await panel.setNotebook('nb/train.ipynb');
    panel.openPromote(panel.runs.runs[1]);
    expect(panel.promoteTarget!.run_id).toBe('r1');
    await panel.promoteRun(form({ require: 'accuracy>=0.9' }));
    const post = server.requests.find(r => r.path === 'promote')!;
    expect(post.body).toEqual({ source: 'r1', name: 'cancer', alias: 'champion', require: ['accuracy>=0.9'],
      force: false, notebook: 'nb/train.ipynb' });
    const result = panel.promotion.result!;
    expect([result.version, result.alias, result.moved]).toEqual(['2', 'champion', true]);
    expect(result.gates.map(g => [g.gate, g.value, g.threshold, g.status])).toEqual([['threshold', 0.965, 0.9, 'passed']]);
    // the Models tab was never shown: it is not loaded behind the user's back
    expect(server.requests.some(r => r.path === 'models')).toBe(false);
    panel.closePromote();
    expect(panel.promoteTarget).toBeNull();
    expect(panel.promotion.result).toBeNull();
  });

  it('refreshes the Models tab when it was shown, and keeps the form while the gates run', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>(resolve => (release = resolve));
    const server = registryServer(promotionResult());
    runsServer(2, server);
    const panel = new PanelModel(server, '0.1.0', () => gate);
    await panel.setNotebook('nb/train.ipynb');
    await panel.models.load('nb/train.ipynb');
    panel.openPromote(run(1));
    const pending = panel.promoteRun(form());
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(panel.promotion.running).toBe(true);
    panel.closePromote(); // refused while running
    panel.openPromote(run(0));
    expect(panel.promoteTarget!.run_id).toBe('r1');
    release();
    await pending;
    expect(panel.models.selected!.name).toBe('cancer');
    expect(server.requests.filter(r => r.path === 'models')).toHaveLength(2);
  });
});
