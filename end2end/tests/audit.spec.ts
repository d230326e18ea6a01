import { test, expect } from '@playwright/test';
import { signIn, waitForHydration, watchConsole } from './helpers';

const basic = (user: string, password: string) => ({
  Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
});
const admin = basic('admin', 'admin-password-1');

test.beforeAll(async ({ request }) => {
  const user = await request.post('/api/v1/users', { headers: admin, data: { username: 'audrey', password: 'auditor-pass-1', role: 'auditor' } });
  expect([201, 409]).toContain(user.status());
  const created = await request.post('/api/v1/models', { headers: admin, data: { name: 'loan-default', team: 'risk', description: 'Probability of default.' } });
  if (created.status() === 409) return;
  expect(created.status()).toBe(201);
  const lineage = { commit_sha: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432', dataset: { name: 'loans', version: '2026-10', hash: 'sha256:beef' } };
  for (const v of ['1.0.0', '1.1.0']) {
    const res = await request.post('/api/v1/models/loan-default/versions', { headers: admin, data: { version: v, lineage, metrics: { auc: v === '1.0.0' ? 0.8 : 0.84 } } });
    expect(res.status()).toBe(201);
  }
  const put = await request.put('/api/v1/models/loan-default/versions/1.0.0/artifacts/model.onnx', { headers: admin, data: Buffer.from('onnx') });
  expect(put.status()).toBe(201);
  // Admin-only policy: no sign-off, so the setup can promote alone.
  const policy = { staging: 0, production: 0, archived: 0, experimental: 0, archive_previous_production: true, request_ttl_hours: 24 };
  expect((await request.put('/api/v1/policy', { headers: admin, data: policy })).ok()).toBeTruthy();
  for (const to of ['staging', 'production']) {
    const res = await request.post('/api/v1/models/loan-default/versions/1.0.0/requests', { headers: admin, data: { to, justification: `setup ${to}` } });
    expect(res.status()).toBe(201);
  }
  const restore = { staging: 1, production: 2, archived: 0, experimental: 0, archive_previous_production: true, request_ttl_hours: 168 };
  expect((await request.put('/api/v1/policy', { headers: admin, data: restore })).ok()).toBeTruthy();
});

test('an auditor filters the trail, verifies the chain and prints a report', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'audrey', 'auditor-pass-1');
  await expect(page).toHaveURL(/\/$/);

  await page.goto('/audit?model=loan-default&action=stage.');
  await waitForHydration(page);
  const rows = page.locator('.audit-table tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('stage.change');
  await expect(rows.first().locator('a')).toHaveAttribute('href', '/models/loan-default/versions/1.0.0');
  await page.getByRole('button', { name: 'Verify the hash chain' }).click();
  await expect(page.getByTestId('chain-verdict')).toContainText('Chain intact');
  await page.screenshot({ path: 'test-results/audit.png', fullPage: true });

  // The model page answers "which version was where" at an instant.
  await page.goto('/models/loan-default?as_of=2000-01-01');
  await waitForHydration(page);
  await expect(page.getByTestId('stages-as-of').locator('tbody tr')).toHaveCount(0);
  await page.goto('/models/loan-default');
  await waitForHydration(page);
  await page.getByLabel('As of (UTC)').fill('2100-01-01T00:00');
  await page.getByRole('button', { name: 'Show stages' }).click();
  await expect(page.getByTestId('stages-as-of')).toContainText('1.0.0');
  await expect(page.getByTestId('stages-as-of').locator('tr', { hasText: 'Production' })).toContainText('1.0.0');

  await page.getByRole('link', { name: /Compliance report/ }).click();
  await expect(page).toHaveURL(/\/models\/loan-default\/report$/);
  await waitForHydration(page);
  const report = page.locator('article.report');
  await expect(report).toContainText('Compliance report: loan-default');
  await expect(report.locator('.report-version')).toHaveCount(1);
  await expect(report.locator('.report-version')).toContainText('9f8e7d6c5b4a39281706f5e4d3c2b1a098765432');
  await expect(report.locator('code.sha')).toHaveText(/^[0-9a-f]{64}$/);
  await expect(report.getByTestId('chain-status')).toContainText('Intact');
  await expect(report.locator('figure.chart svg').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/report.png', fullPage: true });
  // The print rendering drops the controls and keeps the document.
  await page.emulateMedia({ media: 'print' });
  await expect(page.locator('section.no-print').first()).toBeHidden();
  await expect(report).toBeVisible();
  const pdf = await page.pdf({ format: 'A4' });
  expect(pdf.length).toBeGreaterThan(10_000);
  await page.emulateMedia({ media: 'screen' });

  // The standalone page and the exports answer too.
  const html = await page.request.get('/api/v1/models/loan-default/report?format=html');
  expect(html.status()).toBe(200);
  expect(await html.text()).toContain('Compliance report: loan-default');
  const csv = await page.request.get('/api/v1/audit/export?format=csv&model=loan-default');
  expect(csv.status()).toBe(200);
  expect((await csv.text()).split('\n')[0]).toContain('id,at,actor');
  expect(errors).toEqual([]);
});

test('a viewer cannot open the audit trail or a report', async ({ page, request }) => {
  const res = await request.post('/api/v1/users', { headers: admin, data: { username: 'viv', password: 'viewer-pass-1', role: 'viewer' } });
  expect([201, 409]).toContain(res.status());
  await signIn(page, 'viv', 'viewer-pass-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/models/loan-default/report');
  await expect(page.locator('article.report')).toHaveCount(0);
  await expect(page.locator('main')).toContainText(/not allowed|permission|forbidden/i);
  const api = await page.request.get('/api/v1/models/loan-default/report');
  expect(api.status()).toBe(403);
});
