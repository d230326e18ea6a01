import { test, expect } from '@playwright/test';
import { signIn, waitForHydration, watchConsole } from './helpers';

const basic = (user: string, password: string) => ({
  Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
});
const admin = basic('admin', 'admin-password-1');
const M = '/api/v1/models/decision-engine';

let servedAt = '';

test.beforeAll(async ({ request }) => {
  const user = await request.post('/api/v1/users', { headers: admin, data: { username: 'audra', password: 'auditor-pass-2', role: 'auditor' } });
  expect([201, 409]).toContain(user.status());
  const created = await request.post('/api/v1/models', { headers: admin, data: { name: 'decision-engine', team: 'risk' } });
  expect(created.status()).toBe(201);
  const lineage = { commit_sha: 'c0ffee1234567890c0ffee1234567890c0ffee12', dataset: { name: 'applications', hash: 'sha256:apps-2026' } };
  for (const v of ['1.0.0', '1.1.0']) {
    expect((await request.post(`${M}/versions`, { headers: admin, data: { version: v, lineage, params: { depth: '6' }, metrics: { auc: 0.87 } } })).status()).toBe(201);
    expect((await request.put(`${M}/versions/${v}/artifacts/model.onnx`, { headers: admin, data: Buffer.from(`onnx ${v}`) })).status()).toBe(201);
  }
  // No sign-off needed for the setup's promotion, then the policy is restored.
  const open = { staging: 0, production: 0, archived: 0, experimental: 0, archive_previous_production: true, request_ttl_hours: 24 };
  expect((await request.put('/api/v1/policy', { headers: admin, data: open })).ok()).toBeTruthy();
  for (const to of ['staging', 'production']) {
    expect((await request.post(`${M}/versions/1.0.0/requests`, { headers: admin, data: { to, justification: `setup ${to}` } })).status()).toBe(201);
  }
  const restore = { staging: 1, production: 2, archived: 0, experimental: 0, archive_previous_production: true, request_ttl_hours: 168 };
  expect((await request.put('/api/v1/policy', { headers: admin, data: restore })).ok()).toBeTruthy();

  expect((await request.post('/api/v1/environments', { headers: admin, data: { name: 'prod-eu', required_stage: 'production' } })).status()).toBe(201);
  const receipt = await request.post(`${M}/versions/1.0.0/receipts`, { headers: admin });
  expect(receipt.status()).toBe(201);
  const receiptId = (await receipt.json()).receipt_id;
  const first = await request.post('/api/v1/environments/prod-eu/deployments', { headers: admin, data: { model: 'decision-engine', version: '1.0.0', receipt_id: receiptId } });
  expect(first.status()).toBe(201);
  const firstAt: number = (await first.json()).at;
  // A whole second later, someone ships the experimental 1.1.0: a violation.
  await new Promise((r) => setTimeout(r, 2200));
  const rogue = await request.post('/api/v1/environments/prod-eu/deployments', { headers: admin, data: { model: 'decision-engine', version: '1.1.0' } });
  expect(rogue.status()).toBe(201);
  expect((await rogue.json()).violation).toContain('experimental');
  // The first whole second after 1.0.0 started serving.
  servedAt = new Date(Math.ceil((firstAt + 1) / 1000) * 1000).toISOString().slice(0, 19);
});

test('an auditor reads the environment timeline, attributes a decision and prints the deployments', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'audra', 'auditor-pass-2');
  await expect(page).toHaveURL(/\/$/);

  await page.goto('/models/decision-engine');
  await waitForHydration(page);
  const deployments = page.locator('#deployments');
  await expect(deployments.locator('[data-environment="prod-eu"] h3')).toContainText('prod-eu (requires Production)');
  await expect(deployments.locator('[data-environment="prod-eu"] tbody tr')).toHaveCount(2);
  await expect(deployments.getByTestId('violations')).toContainText('1.1.0');
  await expect(deployments.locator('figure.chart svg')).toBeVisible();

  // "What served in prod-eu at …": 1.0.0, with its receipt.
  await page.getByLabel('Environment').selectOption('prod-eu');
  await page.getByLabel('At (UTC)').fill(servedAt);
  await page.getByRole('button', { name: 'Show what served' }).click();
  await expect(page.getByTestId('serving-answer')).toContainText('served version 1.0.0');
  await expect(page.getByTestId('serving-answer')).toContainText('receipt rcpt_');
  await page.screenshot({ path: 'test-results/deployments.png', fullPage: true });

  await page.getByRole('link', { name: /Full attribution/ }).click();
  await expect(page).toHaveURL(/\/attribution\?environment=prod-eu&at=\d+/);
  await waitForHydration(page);
  const answer = page.getByTestId('attribution-answer');
  await expect(answer).toHaveCount(1);
  await expect(answer).toHaveAttribute('data-version', '1.0.0');
  await expect(answer).toContainText('rcpt_');
  const evidence = page.locator('.report-version');
  await expect(evidence).toContainText('c0ffee1234567890c0ffee1234567890c0ffee12');
  await expect(evidence).toContainText('sha256:apps-2026');
  await expect(evidence.locator('code.sha')).toHaveText(/^[0-9a-f]{64}$/);
  await page.screenshot({ path: 'test-results/attribution.png', fullPage: true });

  // The compliance report's deployment section, printed.
  await page.goto('/models/decision-engine/report');
  await waitForHydration(page);
  const section = page.getByTestId('report-deployments');
  await expect(section).toContainText('prod-eu');
  await expect(section).toContainText('VIOLATION');
  await page.emulateMedia({ media: 'print' });
  await expect(section).toBeVisible();
  const pdf = await page.pdf({ format: 'A4' });
  expect(pdf.length).toBeGreaterThan(10_000);
  await page.emulateMedia({ media: 'screen' });
  await page.screenshot({ path: 'test-results/report-deployments.png', fullPage: true });

  // The catalog filters by training dataset (lineage, parents included).
  await page.goto('/models?dataset=sha256:apps-2026');
  await waitForHydration(page);
  await expect(page.locator('.model-item')).toHaveCount(1);
  await expect(page.locator('.model-item')).toContainText('decision-engine');
  await page.goto('/models?dataset=sha256:never-used');
  await waitForHydration(page);
  await expect(page.locator('.model-item')).toHaveCount(0);
  expect(errors).toEqual([]);
});
