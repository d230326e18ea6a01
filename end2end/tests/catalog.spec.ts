import { test, expect, APIRequestContext } from '@playwright/test';
import { signIn, waitForHydration, watchConsole } from './helpers';

const auth = { Authorization: 'Basic ' + Buffer.from('admin:admin-password-1').toString('base64') };

async function api(request: APIRequestContext, path: string, data: object) {
  const res = await request.post(path, { headers: auth, data });
  expect(res.status(), await res.text()).toBe(201);
  return res.json();
}

/** Setup that tolerates a rerun after a retry (the data may already exist). */
async function ensure(request: APIRequestContext, path: string, data: object) {
  const res = await request.post(path, { headers: auth, data });
  expect([201, 409], await res.text()).toContain(res.status());
}

function curve(start: number, decay: number, epochs: number) {
  return Array.from({ length: epochs }, (_, i) => ({ step: i + 1, value: +(start * Math.exp(-decay * i) + 0.05).toFixed(4) }));
}

test.beforeAll(async ({ request }) => {
  await ensure(request, '/api/v1/models', {
    name: 'fraud-detector',
    team: 'risk',
    description: '# Fraud detector\n\nScores **card payments** in real time. See [the runbook](https://example.com/runbook).',
    tags: { domain: 'payments', tier: 'critical' },
  });
  await ensure(request, '/api/v1/models', { name: 'fraud-rules', team: 'risk', description: 'Rule-based baseline.' });
  await ensure(request, '/api/v1/models', { name: 'churn-predictor', team: 'growth', description: 'Predicts churn.' });
  const versions = [
    { version: '1.0.0', lr: 0.01, acc: 0.88, decay: 0.25 },
    { version: '1.1.0', lr: 0.005, acc: 0.91, decay: 0.3 },
    { version: '2.0.0-rc.1', lr: 0.001, acc: 0.93, decay: 0.35 },
  ];
  for (const v of versions) {
    await ensure(request, '/api/v1/models/fraud-detector/versions', {
      version: v.version,
      description: `Release ${v.version}`,
      lineage: {
        source_repo: 'https://git.example/risk/fraud.git',
        commit_sha: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432',
        training_script: 'train.py',
        dataset: { name: 'transactions', version: '2026-10', hash: 'sha256:4be1c0ffee' },
        framework: 'pytorch',
        framework_version: '2.5.1',
      },
      params: { learning_rate: v.lr, batch_size: 256, optimizer: 'adamw' },
      metrics: { accuracy: v.acc, auc: v.acc + 0.04 },
      metric_series: { train_loss: curve(1.0, v.decay, 12), val_loss: curve(1.1, v.decay * 0.8, 12) },
    });
  }
});

test('search, model page, version page and compare render and hydrate without errors', async ({ page }) => {
  const errors = watchConsole(page);
  page.on('dialog', () => errors.push('a dialog opened'));
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);

  await page.goto('/models?q=fra&team=risk');
  await waitForHydration(page);
  await expect(page.locator('.model-item')).toHaveCount(2);
  await expect(page.locator('.model-item').filter({ hasText: 'fraud-detector' })).toContainText('Scores card payments');
  await page.screenshot({ path: 'test-results/catalog.png', fullPage: true });

  // The search form updates the URL, so the search can be shared.
  await page.getByLabel('Search').fill('churn');
  await page.getByLabel('Team').fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=churn/);
  await expect(page.locator('.model-item')).toHaveCount(1);

  await page.goto('/models/fraud-detector');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Fraud detector' })).toBeVisible();
  await expect(page.locator('.versions-table tbody tr')).toHaveCount(3);
  await expect(page.locator('.versions-table tbody tr').first()).toContainText('2.0.0-rc.1');
  await expect(page.locator('figure.chart svg rect[fill]')).toHaveCount(3);
  await page.screenshot({ path: 'test-results/model.png', fullPage: true });

  await page.getByRole('link', { name: '1.1.0' }).click();
  await expect(page).toHaveURL(/\/models\/fraud-detector\/versions\/1\.1\.0$/);
  await expect(page.getByText('9f8e7d6c5b4a39281706f5e4d3c2b1a098765432')).toBeVisible();
  const lossChart = page.locator('figure.chart').filter({ hasText: 'loss' });
  await expect(lossChart.locator('path[stroke]')).toHaveCount(2);
  // Hover read-out after hydration.
  await lossChart.locator('circle').first().hover();
  await expect(lossChart.locator('.chart-readout')).toContainText('step 1');
  await page.screenshot({ path: 'test-results/version.png', fullPage: true });

  await page.goto('/models/fraud-detector');
  await waitForHydration(page);
  await page.getByLabel('compare 1.0.0').check();
  await page.getByLabel('compare 2.0.0-rc.1').check();
  await page.getByRole('button', { name: /Compare selected/ }).click();
  await expect(page).toHaveURL(/compare\?v=/);
  await expect(page.locator('tr.differs').filter({ hasText: 'learning_rate' })).toHaveCount(1);
  await expect(page.locator('tr.differs').filter({ hasText: 'batch_size' })).toHaveCount(0);
  await expect(page.locator('figure.chart').first().locator('path[stroke]')).toHaveCount(4);
  await page.screenshot({ path: 'test-results/compare.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('a hostile description is shown as text, never run', async ({ page, request }) => {
  await ensure(request, '/api/v1/models', {
    name: 'xss-probe',
    description: '<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> </textarea><script>alert(4)</script>',
  });
  let dialogs = 0;
  page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/models/xss-probe');
  await waitForHydration(page);
  await expect(page.locator('.description')).toContainText('<script>alert(1)</script>');
  await expect(page.locator('.description a[href^="javascript"]')).toHaveCount(0);
  await page.getByText('Edit model').click();
  await expect(page.getByLabel('Description (Markdown)')).toHaveValue(/<\/textarea><script>alert\(4\)<\/script>/);
  expect(dialogs).toBe(0);
});

test('a contributor registers a model from the browser', async ({ page }) => {
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/models/new');
  await waitForHydration(page);
  await page.getByLabel(/^Name/).fill('image-tagger');
  await page.getByLabel('Team').fill('vision');
  await page.getByLabel('Description (Markdown)').fill('Tags product photos.');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/models\/image-tagger$/);
  await expect(page.locator('.description')).toContainText('Tags product photos.');
});
