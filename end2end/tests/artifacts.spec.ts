import { test, expect } from '@playwright/test';
import { createHash, randomBytes } from 'crypto';
import { signIn, waitForHydration, watchConsole } from './helpers';

const auth = { Authorization: 'Basic ' + Buffer.from('admin:admin-password-1').toString('base64') };

test.beforeAll(async ({ request }) => {
  for (const [path, data] of [
    ['/api/v1/models', { name: 'uploader-demo', description: 'Upload target.' }],
    ['/api/v1/models/uploader-demo/versions', { version: '1.0.0' }],
  ] as const) {
    const res = await request.post(path, { headers: auth, data });
    expect([201, 409]).toContain(res.status());
  }
});

test('a browser upload shows progress, then the file with its checksum', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/models/uploader-demo/versions/1.0.0');
  await waitForHydration(page);
  const weights = randomBytes(6 * 1024 * 1024);
  const digest = createHash('sha256').update(weights).digest('hex');
  await page.getByLabel('Files to upload').setInputFiles([
    { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights },
    { name: 'train.py', mimeType: 'text/x-python', buffer: Buffer.from('import torch\n') },
  ]);
  await expect(page.locator('.upload-item.done')).toHaveCount(2, { timeout: 30_000 });
  const row = page.locator('tr[data-path="model.safetensors"]');
  await expect(row).toBeVisible();
  await expect(row.locator('code.sha')).toHaveAttribute('data-sha256', digest);
  await expect(row).toContainText('6.0 MiB');
  await page.screenshot({ path: 'test-results/artifacts.png', fullPage: true });

  // Downloading returns the same bytes.
  const res = await page.request.get('/api/v1/models/uploader-demo/versions/1.0.0/artifacts/model.safetensors');
  expect(res.status()).toBe(200);
  expect(res.headers()['x-checksum-sha256']).toBe(digest);
  expect(createHash('sha256').update(await res.body()).digest('hex')).toBe(digest);

  // The same path again is refused (immutable) and the error is shown.
  await page.getByLabel('Files to upload').setInputFiles([{ name: 'train.py', mimeType: 'text/x-python', buffer: Buffer.from('changed') }]);
  await expect(page.locator('.upload-item.failed')).toContainText('already exists');
  expect(errors.filter((e) => !e.includes('409'))).toEqual([]);
});

test('pickles are flagged as unsafe to load', async ({ page, request }) => {
  const res = await request.put('/api/v1/models/uploader-demo/versions/1.0.0/artifacts/legacy/model.pkl', {
    headers: auth,
    data: Buffer.from([0x80, 0x04, 0x95, 0x00, 0x00]),
  });
  expect([201, 409]).toContain(res.status());
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/models/uploader-demo/versions/1.0.0');
  await expect(page.locator('tr[data-path="legacy/model.pkl"]')).toContainText('unsafe to load');
});

test('the upload form works without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('admin-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.goto('/models/uploader-demo/versions/1.0.0');
  await page.getByLabel('Files to upload').setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no js here') }]);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page).toHaveURL(/\/models\/uploader-demo\/versions\/1\.0\.0$/);
  await expect(page.locator('tr[data-path="notes.txt"]')).toBeVisible();
  await context.close();
});
