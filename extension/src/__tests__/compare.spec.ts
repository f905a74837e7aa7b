import { compareRuns } from '../compare';
import { formatDuration, keyValues } from '../format';
import { run } from './fake';

describe('compareRuns', () => {
  it('charts the chosen metric oldest first and lists only differing params', () => {
    const a = run(2, { params: { alpha: '0.1', model: 'ridge', seed: '1' }, metrics: { rmse: 0.5 } });
    const b = run(1, { params: { alpha: '0.2', model: 'ridge' }, metrics: { rmse: 0.7, mae: 0.3 } });
    const c = compareRuns([a, b], 'rmse');
    expect(c.metrics).toEqual(['mae', 'rmse']);
    expect(c.points).toEqual([
      { run_id: 'r1', name: 'run-1', value: 0.7 },
      { run_id: 'r2', name: 'run-2', value: 0.5 }
    ]);
    expect(c.differing).toEqual([
      { name: 'alpha', values: ['0.2', '0.1'] },
      { name: 'seed', values: [null, '1'] }
    ]);
  });

  it('falls back to the first metric and marks runs without it', () => {
    const c = compareRuns([run(1, { metrics: { mae: 1 } }), run(2, { metrics: { rmse: 2 } })], 'nope');
    expect(c.metric).toBe('mae');
    expect(c.points.map(p => p.value)).toEqual([1, null]);
  });

  it('has no metric when no run logged one', () => {
    expect(compareRuns([run(1, { metrics: {} }), run(2, { metrics: {} })]).metric).toBeNull();
  });
});

describe('format', () => {
  it('formats durations for people', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(2.5)).toBe('2.5 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(null)).toBe('–');
  });

  it('shows the first key params and metrics', () => {
    expect(keyValues({ b: 0.123456, a: 3, c: 'x', d: 'y' })).toBe('a=3, b=0.1235, c=x');
  });
});
