import { ModelsModel, parseRequirements } from '../model/models';
import { FakeServer } from './fake';

const noWait = () => Promise.resolve();

const detail = {
  name: 'cancer',
  tracking_uri: 'sqlite:///mlflow.db',
  versions: [
    { version: '2', aliases: [], run_id: 'r2', model_id: 'm-2', created: 2, gates_passed: false,
      last_decision: null, has_card: true },
    { version: '1', aliases: ['champion'], run_id: 'r1', model_id: 'm-1', created: 1,
      gates_passed: true, last_decision: null, has_card: true }
  ],
  history: []
};

function registryServer(): FakeServer {
  let polls = 0;
  const events = [
    { event: 'PromotionEvent', step: 'register', status: 'done', message: 'registered cancer version 2' },
    { event: 'PromotionEvent', step: 'threshold', status: 'failed', message: 'accuracy = 0.88, required >= 0.95' },
    { event: 'PromotionEvent', step: 'alias', status: 'failed', message: 'NOT PROMOTED' }
  ];
  return new FakeServer()
    .on('models', () => ({ tracking_uri: 'sqlite:///mlflow.db',
      models: [{ name: 'cancer', aliases: { champion: '1' }, latest_version: '2', description: '', updated: 0 }] }))
    .on('models/cancer', () => detail)
    .on('models/cancer/versions/1/card', () => ({ name: 'cancer', version: '1', aliases: ['champion'],
      markdown: '# Model card', html: '<h1>Model card: cancer version 1</h1>' }))
    .on('promote', () => ({ id: 'p1', kind: 'promote', state: 'queued', events: [], n_events: 0 }))
    .on('jobs/*', ({ params }) => {
      polls += 1;
      const done = polls >= 2;
      const all = events.slice(0, done ? 3 : 1);
      return { id: 'p1', kind: 'promote', state: done ? 'succeeded' : 'running',
        events: all.slice(Number(params!.since)), n_events: all.length, error: null,
        result: done ? { name: 'cancer', version: '2', alias: 'champion', passed: false, moved: false,
          forced: false, gates: [], previous_version: '1', source: 'r2', reason: null } : null };
    });
}

describe('ModelsModel', () => {
  it('lists the models of the notebook\'s store, then a model\'s versions and a card', async () => {
    const server = registryServer();
    const model = new ModelsModel(server, noWait);
    await model.load('work/train.ipynb');
    expect(model.models!.models[0].aliases).toEqual({ champion: '1' });
    expect(server.requests[0]).toMatchObject({ path: 'models', params: { notebook: 'work/train.ipynb' } });
    await model.select('cancer');
    expect(model.selected!.versions.map(v => [v.version, v.gates_passed])).toEqual([['2', false], ['1', true]]);
    await model.showCard('1');
    expect(model.card!.html).toContain('cancer version 1');
  });

  it('runs a promotion as a job and keeps each gate\'s result, then shows the model', async () => {
    const server = registryServer();
    const model = new ModelsModel(server, noWait);
    await model.load(null);
    const result = await model.promote({ source: 'r2', name: 'cancer', require: ['accuracy>=0.95'] });
    expect(result!.moved).toBe(false);
    const post = server.requests.find(r => r.path === 'promote')!;
    expect(post.body).toEqual({ source: 'r2', name: 'cancer', require: ['accuracy>=0.95'] });
    expect(model.gateEvents.map(e => [e.step, e.status])).toEqual([
      ['register', 'done'], ['threshold', 'failed'], ['alias', 'failed']
    ]);
    expect(model.selected!.name).toBe('cancer');
  });

  it('shows the server\'s message when the store cannot be read', async () => {
    const model = new ModelsModel(new FakeServer(), noWait);
    await model.load(null);
    expect(model.error).toBe('no route models');
    expect(model.loading).toBe(false);
  });

  it('splits requirements', () => {
    expect(parseRequirements('accuracy>=0.9, rmse<3;\n f1 > 0.5')).toEqual(['accuracy>=0.9', 'rmse<3', 'f1 > 0.5']);
  });
});
