import { test, expect, APIRequestContext, Browser } from '@playwright/test';
import { signIn, waitForHydration, watchConsole } from './helpers';

const basic = (user: string, password: string) => ({
  Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
});
const admin = basic('admin', 'admin-password-1');
const users = {
  carol: { password: 'contributor-pass-1', role: 'contributor' },
  alice: { password: 'approver-pass-1', role: 'approver' },
  bob: { password: 'approver-pass-2', role: 'approver' },
};
type Name = keyof typeof users;

async function post(request: APIRequestContext, who: Record<string, string>, path: string, data: object, ok: number[]) {
  const res = await request.post(path, { headers: who, data });
  expect(ok, `${path}: ${await res.text()}`).toContain(res.status());
  return res.json().catch(() => null);
}

/** Moves a version through the API: carol asks, alice then bob approve as needed. */
async function promote(request: APIRequestContext, version: string, to: string) {
  const base = '/api/v1/models/credit-scorer';
  const req = await post(request, basic('carol', users.carol.password), `${base}/versions/${version}/requests`, { to, justification: `setup: ${to}` }, [201]);
  let state = req.state;
  for (const who of ['alice', 'bob'] as Name[]) {
    if (state === 'approved') break;
    const res = await post(request, basic(who, users[who].password), `${base}/requests/${req.id}/approve`, {}, [200]);
    state = res.state;
  }
  expect(state).toBe('approved');
}

async function pageAs(browser: Browser, who: Name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchConsole(page);
  await signIn(page, who, users[who].password);
  await expect(page).toHaveURL(/\/$/);
  return { page, errors, context };
}

test.beforeAll(async ({ request }) => {
  for (const [username, u] of Object.entries(users)) {
    await post(request, admin, '/api/v1/users', { username, password: u.password, role: u.role }, [201, 409]);
  }
  const created = await request.post('/api/v1/models', { headers: admin, data: { name: 'credit-scorer', team: 'risk' } });
  if (created.status() === 409) return; // a retry: the versions are already where they should be
  expect(created.status()).toBe(201);
  const lineage = { commit_sha: '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567', dataset: { name: 'applications', version: '2026-11' } };
  await post(request, admin, '/api/v1/models/credit-scorer/versions', { version: '1.0.0', lineage, metrics: { auc: 0.81, recall: 0.62 } }, [201]);
  await post(request, admin, '/api/v1/models/credit-scorer/versions', { version: '1.1.0', lineage, metrics: { auc: 0.86, recall: 0.66 } }, [201]);
  await promote(request, '1.0.0', 'staging');
  await promote(request, '1.0.0', 'production');
  await promote(request, '1.1.0', 'staging');
});

test('a request approved by two others puts the version in production', async ({ browser, request }) => {
  // Carol asks for production on the version page.
  const carol = await pageAs(browser, 'carol');
  await carol.page.goto('/models/credit-scorer/versions/1.1.0');
  await waitForHydration(carol.page);
  await carol.page.getByLabel('Move to').selectOption('production');
  await carol.page.getByLabel('Justification').fill('AUC +0.05 on the November holdout; shadow traffic clean for a week.');
  await carol.page.getByRole('button', { name: 'Request', exact: true }).click();
  const request_ = carol.page.locator('.request').first();
  await expect(request_).toContainText('pending');
  await expect(request_).toContainText('0 of 2 approvals');
  // Her own request offers her no approve button.
  await expect(carol.page.getByRole('button', { name: 'Approve' })).toHaveCount(0);

  // Alice sees it in her inbox, with the metrics against production, and approves.
  const alice = await pageAs(browser, 'alice');
  await expect(alice.page.locator('.nav-links .count')).toHaveText(/[1-9]/);
  await alice.page.goto('/approvals');
  await waitForHydration(alice.page);
  const card = alice.page.locator('.review-card', { hasText: 'credit-scorer 1.1.0' });
  await expect(card).toContainText('AUC +0.05');
  await expect(card.locator('table')).toContainText('1.0.0');
  await expect(card.locator('svg')).toBeVisible();
  await alice.page.screenshot({ path: 'test-results/approvals.png', fullPage: true });
  await card.getByLabel(/Comment/).fill('Holdout numbers check out.');
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(card).toContainText('1 of 2 approvals');
  await expect(card.getByRole('button', { name: 'Approve' })).toHaveCount(0);

  // Production is unchanged until the second sign-off.
  const before = await request.get('/api/v1/models/credit-scorer/stages/production', { headers: admin });
  expect((await before.json()).version).toBe('1.0.0');

  // Bob approves: the request applies and leaves the inbox.
  const bob = await pageAs(browser, 'bob');
  await bob.page.goto('/approvals');
  await waitForHydration(bob.page);
  const bobCard = bob.page.locator('.review-card', { hasText: 'credit-scorer 1.1.0' });
  await bobCard.getByRole('button', { name: 'Approve' }).click();
  await expect(bobCard).toHaveCount(0);

  // The version shows Production, with who approved in its history.
  await bob.page.goto('/models/credit-scorer/versions/1.1.0');
  await waitForHydration(bob.page);
  await expect(bob.page.locator('.page-head .badge').first()).toHaveText('Production');
  const history = bob.page.getByTestId('stage-history');
  await expect(history).toContainText('bob');
  await expect(bob.page.locator('.request').first()).toContainText('approved');
  await expect(bob.page.locator('.reviews').first()).toContainText('Holdout numbers check out.');
  await bob.page.screenshot({ path: 'test-results/version-production.png', fullPage: true });

  const after = await request.get('/api/v1/models/credit-scorer/stages/production', { headers: admin });
  expect((await after.json()).version).toBe('1.1.0');
  const old = await request.get('/api/v1/models/credit-scorer/versions/1.0.0', { headers: admin });
  expect((await old.json()).stage).toBe('archived');

  for (const who of [carol, alice, bob]) {
    expect(who.errors).toEqual([]);
    await who.context.close();
  }
});
