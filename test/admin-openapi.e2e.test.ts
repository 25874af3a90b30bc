/** The admin API's OpenAPI document: behind admin access, complete (every route), every field described. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.js';

const ADMIN_TOKEN = 'adm-0123456789abcdef-openapi';
const PREFIX = '/admin/api';

/**
 * Every `METHOD /path` the server routes, read from Fastify's own route tree (printRoutes),
 * so the list does not come from the document under test. HEAD twins of GET are left out.
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([\s│├└─]*?)(?:[├└]── )(.+?) \(([^)]+)\)$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    const segment = m[2]!;
    const parent = depth === 0 ? '' : stack[depth - 1]!;
    const path = depth === 0 ? segment : parent === '/' ? `/${segment}` : `${parent}${segment}`;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of m[3]!.split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes;
}

/** Paths (as `where`) of schema properties and parameters that lack a description. */
function undescribed(schema: unknown, where: string, out: string[]): void {
  if (!schema || typeof schema !== 'object') return;
  const s = schema as Record<string, any>;
  for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, any>)) {
    if (typeof prop.description !== 'string' || prop.description.length < 3) out.push(`${where}.${name}`);
    undescribed(prop, `${where}.${name}`, out);
  }
  if (s.items) undescribed(s.items, `${where}[]`, out);
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) undescribed(alt, where, out);
}

describe('admin OpenAPI document', () => {
  let h: Harness;
  let doc: any;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
    const res = await fetch(`${h.base}${PREFIX}/openapi.json`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => h.close());

  it('is served behind the admin access like the rest of the admin API', async () => {
    const anonymous = await fetch(`${h.base}${PREFIX}/openapi.json`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as any).error.code).toBe('invalid_admin_token');
    const clientKey = await fetch(`${h.base}${PREFIX}/openapi.json`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(clientKey.status).toBe(401);
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.title).toBe('kimi-proxy admin API');
  });

  it('lists every registered admin route, and nothing else', () => {
    const routed = registeredRoutes(h.app.fastify.printRoutes({ commonPrefix: false }))
      .filter((r) => r.split(' ')[1]!.startsWith(PREFIX))
      .map((r) => r.replace(/\/$/, ''))
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1').replace(/\/$/, '')}`))
      .sort();
    expect(routed.length).toBeGreaterThan(20);
    expect(routed).toContain('POST /admin/api/keys');
    expect(documented).toEqual(routed);
  });

  it('describes every operation, parameter, body field and response field', () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.summary) missing.push(`${where}: summary`);
        for (const p of op.parameters ?? []) if (!p.description && !p.schema?.description) missing.push(`${where}: parameter ${p.name}`);
        const body = op.requestBody?.content?.['application/json']?.schema;
        if (body) undescribed(body, `${where} body`, missing);
        const ok = Object.keys(op.responses ?? {}).filter((code) => code.startsWith('2'));
        if (ok.length === 0) missing.push(`${where}: no success response`);
        for (const code of ok) {
          const schema = op.responses[code].content?.['application/json']?.schema;
          if (!schema) missing.push(`${where}: response ${code} schema`);
          undescribed(schema, `${where} ${code}`, missing);
        }
        if (!op.responses?.['4XX'] && !op.responses?.['4xx']) missing.push(`${where}: error response`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names the real request fields (key creation takes rate_limit_per_minute, not rpm) and refuses others', () => {
    const create = doc.paths[`${PREFIX}/keys`].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(['allowed_models', 'expires_at', 'expires_in', 'max_concurrent_streams', 'name', 'rate_limit_per_minute']);
    expect(body.required).toEqual(['name']);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.rate_limit_per_minute).toMatchObject({ type: 'integer', minimum: 1 });
    expect(create.responses['201'].content['application/json'].schema.properties.key.description).toMatch(/once/);
    const add = doc.paths[`${PREFIX}/accounts`].post.requestBody.content['application/json'].schema;
    expect(Object.keys(add.properties).sort()).toEqual(['daily_requests', 'disabled', 'max_concurrent', 'min_interval_ms', 'name', 'proxy_url', 'text', 'token', 'weight']);
    const requests = doc.paths[`${PREFIX}/requests`].get.parameters.map((p: any) => p.name).sort();
    expect(requests).toEqual(['account', 'auxiliary', 'before', 'error_code', 'key', 'limit', 'model', 'since', 'status']);
  });

  it('only describes: the fields the handlers return are all sent, and zod still words the refusals', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const refused = await fetch(`${h.base}${PREFIX}/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'k', rpm: 5 }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).error.message).toBe('Invalid request body: Unrecognized key: "rpm" (rpm)');
    const created = await fetch(`${h.base}${PREFIX}/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'k', rate_limit_per_minute: 5 }) });
    expect(created.status).toBe(201);
    const key = (await created.json()) as Record<string, unknown>;
    const documented = Object.keys(doc.paths[`${PREFIX}/keys`].post.responses['201'].content['application/json'].schema.properties).sort();
    expect(Object.keys(key).sort()).toEqual(documented);
  });
});
