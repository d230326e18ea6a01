import { defineConfig } from '@playwright/test';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';

// The app under test: the binary built by `cargo leptos build`, on a fresh
// SQLite database in a temporary directory, on its own port.
const port = Number(process.env.E2E_PORT ?? 3457);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-e2e-'));

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    },
  },
  webServer: {
    command: 'target/debug/model-registry',
    cwd: '..',
    url: `http://127.0.0.1:${port}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_OUTPUT_NAME: 'model-registry',
      REGISTRY_DATA_DIR: dataDir,
      REGISTRY_ADMIN_USER: 'admin',
      REGISTRY_ADMIN_PASSWORD: 'admin-password-1',
      RUST_LOG: 'warn',
    },
  },
});
