/**
 * Galata/Playwright against a `jupyter lab` the Python harness started (tests/ui/panel_lab.py):
 * Debian's chromium, no downloaded browser, no video (it needs Playwright's own ffmpeg).
 */
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const artifacts = process.env.MLOPS_NB_ARTIFACTS ?? path.resolve(__dirname, '../../test-artifacts/ui');

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: path.join(artifacts, 'playwright'),
  reporter: [['list'], ['json', { outputFile: path.join(artifacts, 'playwright-report.json') }]],
  timeout: 600_000,
  retries: 0,
  workers: 1,
  use: {
    ...baseConfig.use,
    baseURL: process.env.MLOPS_NB_BASE_URL ?? 'http://127.0.0.1:8888',
    video: 'off',
    // an action whose element never comes fails within two minutes, naming its locator,
    // instead of holding the walk until the test's own timeout
    actionTimeout: 120_000,
    navigationTimeout: 120_000,
    trace: 'off',
    screenshot: 'only-on-failure',
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run'
      ]
    }
  }
};
