import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logger.js';
import { lazyChildLogger } from './lazy-request-logger.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('lazyChildLogger', () => {
  it('makes no pino child for a request that logs nothing', () => {
    const parent = createLogger('info', capture().stream);
    const child = vi.spyOn(parent, 'child');
    const log = lazyChildLogger(parent, { reqId: 'req-1' }, {});
    expect(log.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
  });

  it('logs with the request bindings and the redaction of the parent, through one child', async () => {
    const out = capture();
    const parent = createLogger('info', out.stream);
    const child = vi.spyOn(parent, 'child');
    const log = lazyChildLogger(parent, { reqId: 'req-2' }, {});
    log.info({ headers: { authorization: 'Bearer sk-secret-value' } }, 'first');
    log.warn('second %s', 'line');
    log.debug('below the level');
    await new Promise((resolve) => setImmediate(resolve));
    expect(child).toHaveBeenCalledTimes(1);
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual(['first', 'second line']);
    for (const line of lines) expect(line.reqId).toBe('req-2');
    expect(JSON.stringify(lines)).not.toContain('sk-secret-value');
  });

  it('passes level changes and grandchildren through to the child', async () => {
    const out = capture();
    const parent = createLogger('info', out.stream);
    const log = lazyChildLogger(parent, { reqId: 'req-3' }, {});
    log.level = 'debug';
    expect(log.level).toBe('debug');
    expect(parent.level).toBe('info');
    log.child({ step: 'upstream' }).debug('detail');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.lines()).toEqual([expect.objectContaining({ msg: 'detail', reqId: 'req-3', step: 'upstream' })]);
  });
});
