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
  // Point it at whichever version it does not name yet (so a retry works too).
  const current = await request.get(`${base}/aliases/champion`, { headers: admin });
  const from = current.status() === 200 ? (await current.json()).version : null;
  const target = from === '1.0.0' ? '1.1.0' : '1.0.0';
  const carol = await pageAs(browser, 'carol');
  await carol.page.goto(`/models/loan-approver/versions/${target}`);
  await waitForHydration(carol.page);
  await carol.page.getByLabel('Alias', { exact: true }).fill('champion');
  await carol.page.getByLabel('Why move the alias').fill(`${target} is what serves; pipelines follow @champion.`);
  await carol.page.getByRole('button', { name: 'Point alias here' }).click();
  const asked = carol.page.locator('.request', { hasText: 'alias champion' }).first();
  await expect(asked).toContainText('pending');
  await expect(asked).toContainText('0 of 2 approvals');
  // Nothing moved yet.
  const still = await request.get(`${base}/aliases/champion`, { headers: admin });
  expect(still.status() === 200 ? (await still.json()).version : null).toBe(from);

  const alice = await pageAs(browser, 'alice');
  await alice.page.goto('/approvals');
  await waitForHydration(alice.page);
  const card = alice.page.locator('.review-card', { hasText: `alias champion → ${target}` });
  await expect(card).toContainText('pipelines follow @champion');
  await expect(card.locator('.digest')).toBeVisible();
  await alice.page.screenshot({ path: 'test-results/approvals-alias.png', fullPage: true });
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(card).toContainText('1 of 2 approvals');

  const bob = await pageAs(browser, 'bob');
  await bob.page.goto('/approvals');
  await waitForHydration(bob.page);
  const bobCard = bob.page.locator('.review-card', { hasText: `alias champion → ${target}` });
  await bobCard.getByRole('button', { name: 'Approve' }).click();
  await expect(bobCard).toHaveCount(0);

  const resolved = await request.get(`${base}/aliases/champion`, { headers: admin });
  expect(resolved.status()).toBe(200);
  expect((await resolved.json()).version).toBe(target);
  await bob.page.goto(`/models/loan-approver/versions/${target}`);
  await waitForHydration(bob.page);
  await expect(bob.page.locator('.tag.alias.protected', { hasText: 'champion' })).toBeVisible();
  await expect(bob.page.locator('.request', { hasText: 'alias champion' }).first()).toContainText('approved');
  await bob.page.screenshot({ path: 'test-results/version-champion.png', fullPage: true });
  for (const who of [carol, alice, bob]) {
    expect(who.errors).toEqual([]);
    await who.context.close();
  }
});

test('an admin protects more aliases on the policy page', async ({ browser, request }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchConsole(page);
  await signIn(page, 'admin', 'admin-password-1');
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/admin/policy');
  await waitForHydration(page);
  const rules = page.locator('textarea[name="protected_aliases"]');
  await expect(rules).toHaveValue(/champion 2/);
  await rules.fill('champion 2\nprod-* 1 production\n');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.alert-success')).toBeVisible();
  const policy = await (await request.get('/api/v1/policy', { headers: admin })).json();
  expect(policy.registry.protected_aliases).toEqual([
    { pattern: 'champion', approvals: 2 },
    { pattern: 'prod-*', approvals: 1, stage: 'production' },
  ]);
  // A bad rule is refused, naming the field, and changes nothing.
  await rules.fill('latest 1');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.alert-error')).toContainText('protected_aliases');
  await page.screenshot({ path: 'test-results/policy.png', fullPage: true });
  const after = await (await request.get('/api/v1/policy', { headers: admin })).json();
  expect(after.registry.protected_aliases).toHaveLength(2);
  // The refused save is a 400 the browser logs; nothing else may be.
  expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await context.close();
});
