/**
 * The dashboard's pages at /admin: the static build of ui/ (dist/ui), served with a strict
 * Content-Security-Policy (scripts and styles from this origin only, no inline script, no
 * framing). Without ADMIN_TOKEN, /admin is a short page saying how to turn it on.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/ui next to the compiled server, or the repository's dist/ui when running from source. */
function uiRoot(): string | undefined {
  for (const rel of ['../../ui/', '../../../dist/ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

const DISABLED_PAGE = page(
  'kimi-proxy dashboard is off',
  '<p>The dashboard and the admin API are enabled by setting <code>ADMIN_TOKEN</code> (at least 16 characters, for example the output of <code>openssl rand -hex 24</code>) and restarting the proxy. Then open <code>/admin</code> again and log in with that token.</p>' +
    '<p>Le tableau de bord / 管理面板：设置环境变量 <code>ADMIN_TOKEN</code>（至少 16 个字符）并重启代理后，在此页面用该令牌登录。</p>',
);

const NOT_BUILT_PAGE = page('kimi-proxy dashboard is not built', '<p>The dashboard\u2019s files are missing: run <code>npm run build</code> (it builds <code>ui/</code> into <code>dist/ui</code>) and restart.</p>');

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** /admin without ADMIN_TOKEN: 404 with the explanation (the admin API stays unregistered). */
export function registerDisabledDashboard(app: FastifyInstance): void {
  app.get('/admin', async (_request, reply) => secure(reply).code(404).type('text/html; charset=utf-8').send(DISABLED_PAGE));
}

export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const root = uiRoot();
  if (!root) {
    app.get('/admin', async (_request, reply) => secure(reply).code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE));
    return;
  }
  const index = await readFile(`${root}index.html`, 'utf8');
  // Loaded only with ADMIN_TOKEN: a proxy without the dashboard does not pay for it at start-up.
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      secure(reply);
    });
    // File names under assets/ carry a content hash: they never change.
    await scope.register(fastifyStatic, { root: `${root}assets`, prefix: '/admin/assets/', decorateReply: false, immutable: true, maxAge: '365d', index: false });
    for (const file of ['favicon.svg', 'manifest.webmanifest']) {
      if (!existsSync(`${root}${file}`)) continue;
      const body = await readFile(`${root}${file}`);
      const type = file.endsWith('.svg') ? 'image/svg+xml' : 'application/manifest+json';
      scope.get(`/admin/${file}`, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=3600').send(body));
    }
    scope.get('/admin', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(index));
  });
}
