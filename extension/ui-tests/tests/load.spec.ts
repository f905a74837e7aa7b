/**
 * Benchmark, not a pass/fail timing: JupyterLab's load time (navigation start to `app.restored`),
 * alternating between two servers started side by side by benchmarks/bench_panel.py: one with the
 * mlops-nb lab extension ($MLOPS_NB_BASE_URL_WITH), one with it disabled
 * ($MLOPS_NB_BASE_URL_WITHOUT). Alternating pairs cancel the drift of a busy machine.
 * Figures go to $MLOPS_NB_ARTIFACTS/load.json.
 */
import { expect, Page, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const PAIRS = Number(process.env.MLOPS_NB_BENCH_REPEAT ?? 12);
const SERVERS = {
  with: process.env.MLOPS_NB_BASE_URL_WITH ?? '',
  without: process.env.MLOPS_NB_BASE_URL_WITHOUT ?? ''
};

async function load(page: Page, base: string): Promise<{ ms: number; panel: boolean; kb: number }> {
  await page.goto(`${base}/lab?reset`);
  return page.evaluate(async () => {
    while (!(window as any).jupyterapp) {
      await new Promise(r => setTimeout(r, 5));
    }
    await (window as any).jupyterapp.restored;
    const ms = performance.now();
    // the panel's own files fetched by then (plotly's 4 MB chunk must not be among them)
    const bytes = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter(e => e.name.includes('/extensions/mlops-nb/static/'))
      .reduce((sum, e) => sum + e.decodedBodySize, 0);
    return {
      ms,
      panel: document.querySelector('.lm-TabBar-tab[data-id="mlops-nb-panel"]') !== null,
      kb: Math.round(bytes / 1024)
    };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

test('JupyterLab load time with and without mlops-nb', async ({ page }) => {
  test.setTimeout(600_000);
  const ms: Record<'with' | 'without', number[]> = { with: [], without: [] };
  // one warm-up load each (server and browser caches), then alternating pairs
  const first = await load(page, SERVERS.with);
  expect(first.panel).toBe(true);
  expect(first.kb).toBeGreaterThan(0); // the files were found (JupyterLab's lab/extensions/ URL)
  expect(first.kb).toBeLessThan(500);
  expect((await load(page, SERVERS.without)).panel).toBe(false);
  for (let i = 0; i < PAIRS; i++) {
    const order: ('with' | 'without')[] = i % 2 ? ['with', 'without'] : ['without', 'with'];
    for (const label of order) {
      ms[label].push((await load(page, SERVERS[label])).ms);
    }
  }
  const deltas = ms.with.map((w, i) => w - ms.without[i]);
  const figures = {
    pairs: PAIRS,
    mlops_nb_kb_at_load: first.kb,
    with_ms: { median: median(ms.with), min: Math.min(...ms.with), all: ms.with },
    without_ms: { median: median(ms.without), min: Math.min(...ms.without), all: ms.without },
    delta_ms: { median_of_pairs: median(deltas), of_medians: median(ms.with) - median(ms.without), all: deltas }
  };
  fs.writeFileSync(path.join(ARTIFACTS, 'load.json'), JSON.stringify(figures, null, 2));
  console.log('load', JSON.stringify(figures));
});
