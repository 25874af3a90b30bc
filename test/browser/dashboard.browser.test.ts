/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core, offline)
 * against a real proxy and the Kimi emulator: login, accounts (add from a "Copy as cURL",
 * a failing account seen live), keys, the playground, the request log and overview, revoking,
 * CSRF and session checks, XSS. Screenshots of every page in English and Chinese go to
 * docs/images/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

const ADMIN_TOKEN = 'adm-browser-0123456789abcdef';
const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const PAGES = ['overview', 'accounts', 'keys', 'conversations', 'requests', 'playground'] as const;

export async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'kp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1280, height: 820 },
    locale: 'en-US',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function login(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/admin`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

/** Follows a navigation link (on a phone, through the menu button first). */
async function go(page: Page, id: string): Promise<void> {
  const link = page.locator(`nav a[href="#/${id}"]`);
  if (!(await link.isVisible())) await page.locator('.menu-button').click();
  await link.click();
}
const card = (page: Page, name: string) => page.locator(`li.account[data-account="${name}"]`);

describe('dashboard in Chromium', () => {
  let h: Harness;
  let browser: Awaited<ReturnType<typeof launch>>;
  let page: Page;
  /** Content Security Policy violations and page errors seen anywhere. */
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(IMAGES, { recursive: true });
    h = await startHarness({ env: { ADMIN_TOKEN }, logLevel: 'silent' });
    browser = await launch();
    page = await browser.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('logs in, shows two healthy accounts and adds a third from a "Copy as cURL"', async () => {
    await login(page, h.base);
    await go(page, 'accounts');
    for (const name of ['account-1', 'account-2']) await expect.poll(() => card(page, name).getByTestId('state').textContent()).toBe('healthy');
    const curl = `curl 'https://www.kimi.com/apiv2/kimi.gateway.chat.v1.ChatService/Chat' \\\n  -H 'accept: */*' \\\n  -H 'authorization: Bearer tok-gamma-0123456789abcdef' \\\n  --data-raw '{}'`;
    await page.getByLabel(/Copy as cURL/).fill(curl);
    await expect.poll(() => page.getByTestId('token-detected').textContent()).toMatch(/refresh token in the Authorization header/);
    await page.getByLabel('Name (optional)').fill('gamma');
    await page.getByRole('button', { name: 'Add an account' }).click();
    await expect.poll(() => card(page, 'gamma').getByTestId('state').textContent(), { timeout: 10_000 }).toBe('healthy');

    // Its weight changes through the limits dialog: saved on the server, the dialog closes, the page says so.
    await card(page, 'gamma').getByRole('button', { name: 'Weight and limits' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Weight').fill('3');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Done.').first().waitFor();
    const listed = (await (await fetch(`${h.base}/admin/api/accounts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { data: Array<{ name: string; weight: number | null }> };
    expect(listed.data.find((a) => a.name === 'gamma')?.weight).toBe(3);
  });

  it('shows a failing account change state and error without reloading', async () => {
    h.emulator.control.setTokenFault('tok-alpha', '429', { times: 50, retryAfter: 120 });
    // Traffic meets the fault: the pool fails over and cools account-1 down.
    for (let i = 0; i < 6; i++) {
      await fetch(`${h.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: `hello ${i}` }] }),
      });
    }
    const account1 = card(page, 'account-1');
    await expect.poll(() => account1.getByTestId('state').textContent(), { timeout: 10_000 }).toMatch(/^cooling for \d/);
    await expect.poll(() => account1.getByTestId('last-error').textContent()).toMatch(/rate/i);
    h.emulator.control.clearTokenFault('tok-alpha');

    // The request log tells which requests failed over, from where and why.
    await go(page, 'requests');
    const failedOver = page.locator('[data-testid="request-log"] tbody tr:not([data-failed-attempts="0"])').first();
    await expect.poll(() => failedOver.count(), { timeout: 10_000 }).toBe(1);
    await failedOver.getByRole('button').click();
    const detail = page.locator('dialog[open]');
    await expect.poll(() => detail.textContent()).toContain('Failed attempts');
    expect(await detail.locator('ol.attempts li').first().textContent()).toMatch(/^account-1: upstream_rate_limited → moved to the next account$/);
    await detail.getByRole('button', { name: 'Close' }).click();
  });

  let key = '';
  it('creates a key, streams an answer with reasoning in the playground, and shows it in the log and the overview', async () => {
    await go(page, 'overview');
    const before = Number((await page.getByTestId('total-requests').textContent())!.replace(/\D/g, ''));
    await go(page, 'keys');
    await page.getByLabel('Name', { exact: true }).fill('playground-key');
    await page.getByRole('button', { name: 'Create a key' }).click();
    key = await page.locator('#created-key').inputValue();
    expect(key).toMatch(/^sk-kp-/);
    await page.getByRole('button', { name: 'Close' }).click();

    await go(page, 'playground');
    expect(await page.getByLabel('API key').first().inputValue()).toBe(key);
    await page.getByRole('button', { name: 'Load models' }).click();
    await expect.poll(() => page.locator('#pg-model option').count()).toBeGreaterThan(1);
    await page.locator('#pg-model').selectOption('k1.5');
    await page.getByLabel('Message').fill('[[emu reply="Streamed to the playground." think="Weighing the question." deltas=4]]');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('answer').last();
    await expect.poll(() => answer.getAttribute('data-done'), { timeout: 15_000 }).toBe('true');
    expect(await answer.textContent()).toBe('Streamed to the playground.');
    expect(await page.getByTestId('reasoning').last().textContent()).toContain('Weighing the question.');
    // The same conversation continues.
    await page.getByLabel('Message').fill('[[emu turn]]');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByTestId('answer').nth(1).getAttribute('data-done'), { timeout: 15_000 }).toBe('true');
    expect(await page.getByTestId('answer').nth(1).textContent()).toMatch(/^turn=2 /);

    await go(page, 'requests');
    await page.getByLabel('Key', { exact: true }).fill('playground-key');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('[data-testid="request-log"] tbody tr').count(), { timeout: 10_000 }).toBe(2);
    await page.locator('[data-testid="request-log"] tbody tr').first().getByRole('button').click();
    const detail = page.locator('dialog[open]');
    await expect.poll(() => detail.textContent()).toContain('playground-key');
    expect(await detail.textContent()).not.toContain(key);
    await detail.getByRole('button', { name: 'Close' }).click();

    await go(page, 'overview');
    await expect
      .poll(async () => Number((await page.getByTestId('total-requests').textContent())!.replace(/\D/g, '')), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(before + 2);
    expect(Number(await page.getByTestId('chart-requests').getAttribute('data-total'))).toBeGreaterThanOrEqual(before + 2);
  });

  it('revokes the key, after which the API refuses it', async () => {
    await go(page, 'keys');
    const row = page.locator('tr[data-key="playground-key"]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.getByTestId('key-status').textContent()).toBe('revoked');
    const res = await fetch(`${h.base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(401);
  });

  it('keeps the session cookie from scripts and refuses a state-changing call without the CSRF token', async () => {
    expect(await page.evaluate('document.cookie')).not.toContain('kp_admin_session');
    const status = await page.evaluate(async () => (await fetch('/admin/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"forged"}' })).status);
    expect(status).toBe(403);
  });

  it('shows a conversation message holding HTML as text, without running it', async () => {
    const payload = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> **bold**';
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'k2', conversation_id: 'xss-check', messages: [{ role: 'user', content: payload }] }),
    });
    expect(res.status).toBe(200);
    await go(page, 'conversations');
    await page.getByLabel('Conversation id').fill('xss-check');
    await page.getByRole('button', { name: 'Find' }).click();
    const transcript = page.getByTestId('transcript');
    await expect.poll(() => transcript.textContent()).toContain(payload);
    expect(await transcript.locator('img, script, strong').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await page.locator('dialog[open]').getByRole('button', { name: 'Close' }).click();
  });

  it('takes screenshots of every page in English and Chinese, with no CSP violation', async () => {
    for (const lang of ['en', 'zh'] as const) {
      if (lang === 'zh') await page.getByLabel('Language').first().selectOption('zh');
      for (const id of PAGES) {
        await go(page, id);
        await page.waitForLoadState('networkidle');
        await page.locator('main h1').waitFor();
        await page.waitForTimeout(300);
        if (id === 'accounts') {
          // Three cards abreast: a long label must not squeeze an account's values into a strip.
          const valueWidths = await page.locator('.facts dd').evaluateAll((dds) => dds.map((dd) => dd.getBoundingClientRect().width));
          expect(valueWidths.length).toBeGreaterThan(0);
          expect(Math.min(...valueWidths)).toBeGreaterThanOrEqual(112);
        }
        await page.screenshot({ path: join(IMAGES, `dashboard-${id}-${lang}.png`) });
      }
    }
    await expect.poll(() => page.locator('main h1').textContent()).toBe('调试台');
    await page.setViewportSize({ width: 390, height: 844 });
    await go(page, 'accounts');
    await page.locator('.facts').first().waitFor();
    await page.screenshot({ path: join(IMAGES, 'dashboard-accounts-phone-zh.png') });
    expect(problems).toEqual([]);
  });

  it('logs out', async () => {
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('button', { name: '登录' }).waitFor();
    const res = await page.evaluate(async () => (await fetch('/admin/api/accounts')).status);
    expect(res).toBe(401);
  });
});

describe('an expired dashboard session', () => {
  it('is sent back to the login page', async () => {
    const h = await startHarness({ env: { ADMIN_TOKEN, ADMIN_SESSION_TTL_MS: '1500' }, logLevel: 'silent' });
    const browser = await launch();
    try {
      const page = await browser.context.newPage();
      await login(page, h.base);
      await new Promise((r) => setTimeout(r, 2_100));
      // The next call (the overview's own refresh may come first) finds the session over.
      const link = page.locator('nav a[href="#/accounts"]');
      if (await link.isVisible()) await link.click().catch(() => undefined);
      await page.getByText('Your session has expired. Please sign in again.').waitFor({ timeout: 10_000 });
      expect(await page.getByLabel('Admin token').isVisible()).toBe(true);
    } finally {
      await browser.close();
      await h.close();
    }
  });
});
