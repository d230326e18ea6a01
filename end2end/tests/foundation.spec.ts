import { test, expect } from '@playwright/test';
import { signIn, waitForHydration, watchConsole } from './helpers';

const ADMIN = ['admin', 'admin-password-1'] as const;

test('signing in hydrates the app and shows the user, with no console errors', async ({ page }) => {
  const errors = watchConsole(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=%2F/);
  await waitForHydration(page);
  await signIn(page, ...ADMIN);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText('Signed in as')).toContainText('admin');
  await expect(page.getByRole('link', { name: 'Admin', exact: true })).toBeVisible();
  await page.screenshot({ path: 'test-results/home.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('a wrong password is refused with the generic message', async ({ page, context }) => {
  const errors = watchConsole(page);
  await signIn(page, 'admin', 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('invalid username or password');
  await expect(page).toHaveURL(/\/login/);
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'registry_session')).toBeUndefined();
  expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
});

test('sign-in works before hydration (no JavaScript)', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/login?next=%2Faccount');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong-password-here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('invalid username or password');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('admin-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'API tokens' })).toBeVisible();
  await context.close();
});

test('an admin creates a viewer, who cannot reach the admin page', async ({ page, browser }) => {
  const errors = watchConsole(page);
  await signIn(page, ...ADMIN);
  await expect(page).toHaveURL(/\/$/);
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Users', exact: true })).toBeVisible();
  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Create' }) });
  await form.getByLabel('Username').fill('vicky');
  await form.getByLabel('Initial password').fill('vicky-password-1');
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByText('User created.')).toBeVisible();
  await expect(page.locator('tr[data-user="vicky"]')).toContainText('active');
  await page.screenshot({ path: 'test-results/admin-users.png', fullPage: true });
  expect(errors).toEqual([]);

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, 'vicky', 'vicky-password-1');
  await expect(viewer.getByText('Signed in as')).toContainText('vicky');
  await expect(viewer.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  const response = await viewer.goto('/admin/users');
  expect(response?.status()).toBe(403);
  await expect(viewer.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
  await viewerContext.close();
});

test('a token is shown once and can be revoked', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, ...ADMIN);
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/account');
  await waitForHydration(page);
  await page.getByLabel('Name').fill('e2e pipeline');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.getByTestId('new-token');
  await expect(secret).toHaveText(/^mrt_[0-9a-f]{64}$/);
  const token = await secret.textContent();
  const me = await page.request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(await me.json()).toEqual({ username: 'admin', role: 'admin' });
  const row = page.locator('tr').filter({ hasText: 'e2e pipeline' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('revoked');
  const after = await page.request.get('/api/v1/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
  await page.screenshot({ path: 'test-results/account.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page, ...ADMIN);
  await expect(page).toHaveURL(/\/$/);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=%2Faccount/);
});
