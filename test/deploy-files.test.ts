/**
 * What the deployment files promise, checked where no container runtime is at hand: the
 * server is started as node itself (signals reach it), the compose files refuse an empty
 * API_KEYS up front, the image follows the Node LTS line CI tests, and the documentation
 * names only files that exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

describe('deployment files', () => {
  it('npm start execs node, so a supervisor signal reaches the server', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string } };
    expect(pkg.scripts.start).toBe('exec node dist/cli.js serve');
  });

  it('the image builds and runs on the Node LTS line and starts node directly', () => {
    const dockerfile = read('Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(bases).toEqual(['node:26-bookworm-slim', 'node:26-bookworm-slim']);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/cli\.js", "serve"\]$/m);
  });

  it.each(['docker-compose.yml', 'deploy/docker-compose.cluster.yml'])('%s stops with a message when API_KEYS is empty', (file) => {
    const compose = parseYaml(read(file)) as { services: Record<string, { environment?: Record<string, string> }> };
    const proxies = Object.values(compose.services).filter((s) => s.environment?.HOST === '0.0.0.0');
    expect(proxies.length).toBeGreaterThan(0);
    for (const service of proxies) expect(service.environment?.API_KEYS).toMatch(/^\$\{API_KEYS:\?set API_KEYS in \.env/);
  });

  it('the documentation names only Markdown files that exist', () => {
    const docs = ['README.md', 'README.zh-CN.md', 'src/emulator/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const known = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (entry.name.endsWith('.md')) known.add(entry.name);
      }
    };
    walk('.');
    for (const doc of docs) {
      const names = [...read(doc).matchAll(/([A-Za-z0-9_.-]+\.md)\b/g)].map((m) => m[1]!);
      for (const name of names) expect(known.has(name) || existsSync(join(ROOT, name)), `${doc} names ${name}`).toBe(true);
    }
  });
});
