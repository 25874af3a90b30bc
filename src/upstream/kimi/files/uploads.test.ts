import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../../core/errors.js';
import { FakeClock } from '../../../store/fake-clock.js';
import type { KimiFileRef, UpstreamCallContext, UpstreamFile } from '../types.js';
import { FileUploads, type UploadCache, type UploadOne } from './uploads.js';

class MapCache implements UploadCache {
  readonly map = new Map<string, KimiFileRef>();
  async get(a: string, s: string) {
    return this.map.get(`${a}/${s}`);
  }
  async set(a: string, s: string, ref: KimiFileRef) {
    this.map.set(`${a}/${s}`, ref);
  }
}

const file = (sha: string, name = `${sha}.png`): UpstreamFile => ({ name, mime: 'image/png', kind: 'image', bytes: Buffer.from(sha), sha256: sha });
const ctx = (accountId: string): UpstreamCallContext => ({
  credentials: { accountId, accessToken: 't', deviceId: '1', sessionId: '2' },
  signal: new AbortController().signal,
});

/** Lets the fake clock run every sleep the uploads start, until `p` settles. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 200 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(500);
  }
  return p;
}

describe('FileUploads', () => {
  it('uploads the same bytes once per account, never reusing another account’s file id', async () => {
    const clock = new FakeClock();
    const uploads = new FileUploads({ clock, cache: new MapCache() });
    const calls: string[] = [];
    const upload: UploadOne = async (f, _w, c) => {
      calls.push(`${c.credentials.accountId}:${f.sha256}`);
      return { id: `id-${c.credentials.accountId}-${f.sha256}`, name: f.name, size: f.bytes.byteLength, kind: f.kind };
    };
    const a1 = await uploads.ensure([file('x'), file('x', 'copy.png'), file('y')], ctx('A'), upload);
    expect(a1.map((r) => [r.id, r.name])).toEqual([
      ['id-A-x', 'x.png'],
      ['id-A-x', 'copy.png'],
      ['id-A-y', 'y.png'],
    ]);
    await uploads.ensure([file('x')], ctx('A'), upload);
    const b = await uploads.ensure([file('x')], ctx('B'), upload);
    expect(b[0]!.id).toBe('id-B-x');
    expect(calls).toEqual(['A:x', 'A:y', 'B:x']);
  });

  it('retries 5xx and socket errors, then fails naming the file; other errors pass through at once', async () => {
    const clock = new FakeClock();
    const uploads = new FileUploads({ clock, cache: new MapCache(), policy: { retries: 2 } });
    let n = 0;
    const flaky: UploadOne = async (f) => {
      if (n++ < 2) throw new ProxyError('upstream_http_error', 'Kimi answered 502');
      return { id: 'ok', name: f.name, size: 1, kind: f.kind };
    };
    expect((await drive(clock, uploads.ensure([file('f')], ctx('A'), flaky)))[0]!.id).toBe('ok');
    expect(n).toBe(3);
    const broken: UploadOne = async () => {
      throw new ProxyError('upstream_network_error', 'reset');
    };
    await expect(drive(clock, uploads.ensure([file('g', 'shot.png')], ctx('A'), broken))).rejects.toMatchObject({ code: 'attachment_failed', message: expect.stringContaining('"shot.png"') });
    let auth = 0;
    const refused: UploadOne = async () => {
      auth++;
      throw new ProxyError('upstream_unauthenticated', 'token');
    };
    await expect(uploads.ensure([file('h')], ctx('A'), refused)).rejects.toMatchObject({ code: 'upstream_unauthenticated' });
    expect(auth).toBe(1);
  });

  it('waits for the parse with backoff, up to the kind’s limit', async () => {
    const clock = new FakeClock();
    const uploads = new FileUploads({ clock, cache: new MapCache(), policy: { imageParseMs: 3_000 } });
    let checks = 0;
    const slow: UploadOne = async (f, wait) => {
      await wait.until(async () => (++checks < 3 ? { state: 'pending' } : { state: 'done' }));
      return { id: 'parsed', name: f.name, size: 1, kind: f.kind };
    };
    expect((await drive(clock, uploads.ensure([file('s')], ctx('A'), slow)))[0]!.id).toBe('parsed');
    const never: UploadOne = async (_f, wait) => {
      await wait.until(async () => ({ state: 'pending' }));
      throw new Error('unreachable');
    };
    const started = clock.now();
    await expect(drive(clock, uploads.ensure([file('n', 'never.png')], ctx('A'), never))).rejects.toMatchObject({
      code: 'attachment_failed',
      message: expect.stringContaining('still parsing'),
    });
    expect(clock.now() - started).toBeLessThanOrEqual(3_000 + 500);
  });
});
