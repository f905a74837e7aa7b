import { compareRuns } from '../compare';
import { changedCount, diffLines } from '../diff';
import { metricOverTime, parallelCoordinates } from '../charts';
import { CompareModel } from '../model/compare';
import { FakeServer, run } from './fake';

describe('compareRuns', () => {
  it('orders runs oldest first, differing params first, metric deltas to the first run', () => {
    const c = compareRuns([run(3), run(1, { params: { alpha: '0.1', model: 'ridge', extra: 'x' } })]);
    expect(c.runs.map(r => r.name)).toEqual(['run-1', 'run-3']);
    expect(c.params.map(p => [p.name, p.differs])).toEqual([
      ['alpha', true],
      ['extra', true],
      ['model', false]
    ]);
    expect(c.params[1].values).toEqual(['x', null]);
    const r2 = c.metrics.find(m => m.name === 'r2')!;
    expect(r2.values).toEqual([0.51, 0.53]);
    expect(r2.deltas[0]).toBeNull();
    expect(r2.deltas[1]).toBeCloseTo(0.02);
  });
});

describe('diffLines', () => {
  it('pairs a changed line and keeps equal lines aligned', () => {
    const rows = diffLines('a = 1\nmax_depth = 6\nfit()\n', 'a = 1\nmax_depth = 3\nfit()\nscore()\n');
    expect(rows.map(r => r.kind)).toEqual(['same', 'changed', 'same', 'added']);
    expect(rows[1].left).toEqual({ n: 2, text: 'max_depth = 6' });
    expect(rows[1].right).toEqual({ n: 2, text: 'max_depth = 3' });
    expect(rows[3].left).toBeNull();
    expect(changedCount(rows)).toBe(2);
  });

  it('says nothing changed for equal sources and handles removals', () => {
    expect(changedCount(diffLines('x\ny', 'x\ny'))).toBe(0);
    expect(diffLines('x\ny\nz', 'x\nz').map(r => r.kind)).toEqual(['same', 'removed', 'same']);
  });
});

describe('charts', () => {
  it('plots a metric over the runs start times, one line per cell, selected runs on top', () => {
    const runs = [run(2), run(1), run(0, { metrics: {} }), run(3, { cell_key: 'k2', name: 'baseline' })];
    const traces = metricOverTime(runs, 'r2', new Set(['r2'])) as any[];
    expect(traces.map(t => t.name)).toEqual(['run-2', 'baseline', 'selected']);
    expect(traces[0].y).toEqual([0.51, 0.52]);
    expect(traces[0].x[0] < traces[0].x[1]).toBe(true);
    expect(traces[1].y).toEqual([0.53]);
    expect(traces[2].y).toEqual([0.52]);
  });

  it('makes one parallel axis per varying param (text as categories) plus the metric', () => {
    const runs = [run(0, { params: { alpha: '0.1', model: 'ridge' } }), run(1, { params: { alpha: '0.5', model: 'lasso' } })];
    const [trace] = parallelCoordinates(runs, ['alpha', 'model'], 'rmse') as any[];
    expect(trace.type).toBe('parcoords');
    expect(trace.dimensions.map((d: any) => d.label)).toEqual(['alpha', 'model', 'rmse']);
    expect(trace.dimensions[0].values).toEqual([0.1, 0.5]);
    expect(trace.dimensions[1].ticktext).toEqual(['lasso', 'ridge']);
    expect(trace.dimensions[1].values).toEqual([1, 0]);
  });
});

describe('CompareModel', () => {
  it('loads the selected runs and diffs the cell source of the two newest', async () => {
    const detail = (i: number, source: string | null) => ({
      run: run(i),
      cell_source: source,
      figures: [{ name: 'confusion', kind: 'png' as const, path: 'figures/confusion.png' }],
      history: { rmse: [{ step: 0, value: 1, timestamp: 0 }] }
    });
    const server = new FakeServer().on('runs/compare', ({ params }) => ({
      notebook: params!.notebook,
      runs: [detail(2, 'depth = 3\nfit()'), detail(1, 'depth = 6\nfit()')]
    }));
    const model = new CompareModel(server);
    await model.load('a.ipynb', ['r2']);
    expect(server.requests).toHaveLength(0); // one run: nothing to compare
    await model.load('a.ipynb', ['r2', 'r1']);
    expect(server.requests[0].params).toEqual({ notebook: 'a.ipynb', run_ids: 'r2,r1' });
    expect(model.ordered.map(d => d.run.run_id)).toEqual(['r1', 'r2']);
    const diff = model.cellDiff!;
    expect(diff.left.run.run_id).toBe('r1');
    expect(diff.rows[0]).toEqual({ kind: 'changed', left: { n: 1, text: 'depth = 6' }, right: { n: 1, text: 'depth = 3' } });
  });

  it('has no diff when a run recorded no cell source, and shows errors', async () => {
    const server = new FakeServer().on('runs/compare', () => ({
      notebook: 'a.ipynb',
      runs: [
        { run: run(1), cell_source: null, figures: [], history: {} },
        { run: run(2), cell_source: 'x', figures: [], history: {} }
      ]
    }));
    const model = new CompareModel(server);
    await model.load('a.ipynb', ['r1', 'r2']);
    expect(model.cellDiff).toBeNull();
    const failing = new CompareModel(new FakeServer());
    await failing.load('a.ipynb', ['r1', 'r2']);
    expect(failing.error).toContain('no route');
  });
});
