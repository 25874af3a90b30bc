import { describe, expect, it } from 'vitest';
import { FakeClock } from '../store/fake-clock.js';
import { MemoryStore } from '../store/memory.js';
import type { StoredResponse } from '../store/store.js';
import { ClientFiles, PIECE_BYTES } from './client-files.js';

async function* chunksOf(bytes: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

/** A memory store that records what was saved and deleted. */
function recordingStore(clock: FakeClock) {
  const store = new MemoryStore(clock);
  const saved: StoredResponse[] = [];
  const deleted: string[] = [];
  const save = store.saveResponse.bind(store);
  const del = store.deleteResponse.bind(store);
  store.saveResponse = async (r) => {
    saved.push(r);
    return save(r);
  };
  store.deleteResponse = async (owner, id) => {
    deleted.push(`${owner}/${id}`);
    return del(owner, id);
  };
  return { store, saved, deleted };
}

const upload = async (files: ClientFiles, owner: string, filename: string, bytes: Buffer, maxBytes = 10 * PIECE_BYTES) =>
  files.commit(owner, await files.stage(owner, { filename, chunks: chunksOf(bytes), maxBytes, param: 'file' }), 'user_data');

describe('ClientFiles', () => {
  it('keeps files per API key until they expire, newest first, and forgets deleted ones', async () => {
    const clock = new FakeClock();
    const files = new ClientFiles(new MemoryStore(clock), clock, 60_000);
    const a = await upload(files, 'key_a', 'a.txt', Buffer.from('aaa'));
    clock.advance(30_000);
    const b = await upload(files, 'key_a', 'b.txt', Buffer.from('bbb'));
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

  it('stores an upload as it streams, one piece at a time, and reads it back byte for byte', async () => {
    const clock = new FakeClock();
    const { store, saved } = recordingStore(clock);
    const files = new ClientFiles(store, clock, 60_000);
    const text = Buffer.from('line of notes\n'.repeat(Math.ceil((2.5 * PIECE_BYTES) / 14))).subarray(0, 2.5 * PIECE_BYTES);
    const file = await upload(files, 'key_a', 'notes.md', text);
    expect(file).toMatchObject({ bytes: text.byteLength, mime: 'text/markdown', filename: 'notes.md' });
    // No record holds more than one piece (base64 of at most PIECE_BYTES).
    expect(Math.max(...saved.map((r) => r.body.length))).toBeLessThanOrEqual(Math.ceil(PIECE_BYTES / 3) * 4);
    expect((await files.content('key_a', file.id))?.bytes.equals(text)).toBe(true);
    expect(await files.delete('key_a', file.id)).toBe(true);
    expect(await files.content('key_a', file.id)).toBeUndefined();
  });

  it('refuses an upload over the cap while it streams, and keeps nothing of it', async () => {
    const clock = new FakeClock();
    const { store, saved, deleted } = recordingStore(clock);
    const files = new ClientFiles(store, clock, 60_000);
    let read = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield Buffer.alloc(64 * 1024, 0x61);
      }
    }
    const maxBytes = Math.floor(1.5 * PIECE_BYTES);
    await expect(files.stage('key_a', { filename: 'big.txt', chunks: endless(), maxBytes, param: 'file' })).rejects.toMatchObject({ code: 'attachment_too_large' });
    // Stopped at the first chunk past the cap, not at the end of the body.
    expect(read).toBe(Math.floor(maxBytes / (64 * 1024)) + 1);
    expect(saved.length).toBeGreaterThan(0);
    for (const r of saved) expect(deleted).toContain(`${r.owner}/${r.id}`);
    expect(await files.list('key_a')).toEqual([]);
  });

  it('refuses a type Kimi does not read before storing any of it', async () => {
    const clock = new FakeClock();
    const { store, saved } = recordingStore(clock);
    const files = new ClientFiles(store, clock, 60_000);
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4096)]);
    await expect(upload(files, 'key_a', 'tool.pdf', elf)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect(saved).toEqual([]);
  });
});
