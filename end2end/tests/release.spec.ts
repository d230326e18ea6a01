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
const base = '/api/v1/models/loan-approver';

async function send(request: APIRequestContext, method: 'post' | 'put', who: Record<string, string>, path: string, data: object, ok: number[]) {
  const res = await request[method](path, { headers: who, data });
  expect(ok, `${path}: ${await res.text()}`).toContain(res.status());
  return res.json().catch(() => null);
}

/** carol asks, alice then bob approve as needed. */
async function promote(request: APIRequestContext, version: string, to: string) {
  const req = await send(request, 'post', basic('carol', users.carol.password), `${base}/versions/${version}/requests`, { to, justification: `setup: ${to}` }, [201]);
  let state = req.state;
  for (const who of ['alice', 'bob'] as Name[]) {
    if (state === 'approved') break;
    state = (await send(request, 'post', basic(who, users[who].password), `${base}/requests/${req.id}/approve`, {}, [200])).state;
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
    await send(request, 'post', admin, '/api/v1/users', { username, password: u.password, role: u.role }, [201, 409]);
  }
  const created = await request.post('/api/v1/models', { headers: admin, data: { name: 'loan-approver', team: 'risk' } });
  if (created.status() === 409) return; // a retry: already set up
  expect(created.status()).toBe(201);
  for (const version of ['1.0.0', '1.1.0']) {
    await send(request, 'post', admin, `${base}/versions`, { version, lineage: { commit_sha: 'feedbeef01' }, metrics: { auc: 0.84 } }, [201]);
    const put = await request.put(`${base}/versions/${version}/artifacts/model.safetensors`, { headers: admin, data: Buffer.from(`weights ${version}`) });
    expect(put.status()).toBe(201);
  }
  await promote(request, '1.0.0', 'staging');
  await promote(request, '1.0.0', 'production');
});

test('a released version shows its digest, is frozen, and offers no upload', async ({ browser, request }) => {
  const api = await (await request.get(`${base}/versions/1.0.0`, { headers: admin })).json();
  expect(api.content_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const carol = await pageAs(browser, 'carol');
  await carol.page.goto('/models/loan-approver/versions/1.0.0');
  await waitForHydration(carol.page);
  await expect(carol.page.getByTestId('frozen')).toContainText('Frozen: it is in Production');
  await expect(carol.page.getByTestId('release').locator('.digest')).toHaveAttribute('data-digest', api.content_digest);
  await expect(carol.page.locator('#artifacts')).toContainText('can no longer be added or removed');
  await expect(carol.page.locator('#artifacts form.upload')).toHaveCount(0);
  // Its files say who added them and when.
  await expect(carol.page.locator('.artifacts-table')).toContainText('admin');
  await carol.page.screenshot({ path: 'test-results/version-frozen.png', fullPage: true });
  // An experimental version is not frozen and keeps its upload form.
  await carol.page.goto('/models/loan-approver/versions/1.1.0');
  await waitForHydration(carol.page);
  await expect(carol.page.getByTestId('frozen')).toHaveCount(0);
  await expect(carol.page.locator('#artifacts form.upload')).toHaveCount(1);
  expect(carol.errors).toEqual([]);
  await carol.context.close();
});

test('moving the protected champion alias is a request two others approve', async ({ browser, request }) => {
  const carol = await pageAs(browser, 'carol');
  await carol.page.goto('/models/loan-approver/versions/1.0.0');
  await waitForHydration(carol.page);
  await carol.page.getByLabel('Alias', { exact: true }).fill('champion');
  await carol.page.getByLabel('Why move the alias').fill('1.0.0 is what serves; pipelines follow @champion.');
  await carol.page.getByRole('button', { name: 'Point alias here' }).click();
  const asked = carol.page.locator('.request', { hasText: 'alias champion' });
  await expect(asked).toContainText('pending');
  await expect(asked).toContainText('0 of 2 approvals');
  // Nothing moved yet.
  expect((await request.get(`${base}/aliases/champion`, { headers: admin })).status()).toBe(404);

  const alice = await pageAs(browser, 'alice');
  await alice.page.goto('/approvals');
  await waitForHydration(alice.page);
  const card = alice.page.locator('.review-card', { hasText: 'alias champion' });
  await expect(card).toContainText('pipelines follow @champion');
  await expect(card.locator('.digest')).toBeVisible();
  await alice.page.screenshot({ path: 'test-results/approvals-alias.png', fullPage: true });
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(card).toContainText('1 of 2 approvals');

  const bob = await pageAs(browser, 'bob');
  await bob.page.goto('/approvals');
  await waitForHydration(bob.page);
  const bobCard = bob.page.locator('.review-card', { hasText: 'alias champion' });
  await bobCard.getByRole('button', { name: 'Approve' }).click();
  await expect(bobCard).toHaveCount(0);

  const resolved = await request.get(`${base}/aliases/champion`, { headers: admin });
  expect(resolved.status()).toBe(200);
  expect((await resolved.json()).version).toBe('1.0.0');
  await bob.page.goto('/models/loan-approver/versions/1.0.0');
  await waitForHydration(bob.page);
  await expect(bob.page.locator('.tag.alias.protected', { hasText: 'champion' })).toBeVisible();
  await expect(bob.page.locator('.request', { hasText: 'alias champion' })).toContainText('approved');
  await bob.page.screenshot({ path: 'test-results/version-champion.png', fullPage: true });
  for (const who of [carol, alice, bob]) {
    expect(who.errors).toEqual([]);
    await who.context.close();
  }
});
