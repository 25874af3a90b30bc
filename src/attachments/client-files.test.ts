import { describe, expect, it } from 'vitest';
import { FakeClock } from '../store/fake-clock.js';
import { MemoryStore } from '../store/memory.js';
import { ClientFiles } from './client-files.js';

describe('ClientFiles', () => {
  it('keeps files per API key until they expire, newest first, and forgets deleted ones', async () => {
    const clock = new FakeClock();
    const files = new ClientFiles(new MemoryStore(clock), clock, 60_000);
    const a = await files.put('key_a', { filename: 'a.txt', mime: 'text/plain', purpose: 'user_data', bytes: Buffer.from('aaa') });
    clock.advance(30_000);
    const b = await files.put('key_a', { filename: 'b.txt', mime: 'text/plain', purpose: 'user_data', bytes: Buffer.from('bbb') });
    expect((await files.list('key_a')).map((f) => f.id)).toEqual([b.id, a.id]);
    expect(await files.list('key_b')).toEqual([]);
    expect(await files.content('key_b', a.id)).toBeUndefined();
    expect((await files.content('key_a', a.id))?.bytes.toString()).toBe('aaa');

    clock.advance(30_000);
    expect(await files.get('key_a', a.id)).toBeUndefined();
    expect((await files.list('key_a')).map((f) => f.id)).toEqual([b.id]);

    expect(await files.delete('key_a', b.id)).toBe(true);
    expect(await files.delete('key_a', b.id)).toBe(false);
    expect(await files.list('key_a')).toEqual([]);
  });
});
