import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../store/fake-clock.js';
import { MemoryStore } from '../../store/memory.js';
import type { ResponsesRequest } from './request.js';
import { initialResponse } from './response-object.js';
import { ResponseStore } from './response-store.js';

describe('ResponseStore', () => {
  it('keeps a step’s attachment bytes as base64 and gives them back as the same bytes', async () => {
    const clock = new FakeClock();
    const backing = new MemoryStore(clock);
    const responses = new ResponseStore(backing, clock, 60_000);
    const bytes = randomBytes(1 << 20);
    const file = { name: 'photo.png', mime: 'image/png', kind: 'image' as const, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    const response = initialResponse('resp_1', 1, { model: 'k2', input: 'x' } as ResponsesRequest);
    const attachment = { param: 'input[0].content[1]', hint: 'image' as const, name: 'photo.png', source: { type: 'inline' as const, placeholder: 'p' }, file };
    await responses.save('key', { response, inputItems: [], messages: [{ role: 'user', content: '[image: photo.png]', attachments: [attachment] }] });

    const stored = await backing.getResponse('key', 'resp_1');
    // Base64 (4/3 of the file), not a JSON array of numbers (about 3.6 times the file).
    expect(stored!.body.length).toBeLessThan(bytes.length * 1.4);
    const back = await responses.get('key', 'resp_1');
    const got = back!.messages[0]!.attachments![0]!;
    expect(Buffer.isBuffer(got.file!.bytes)).toBe(true);
    expect(got.file!.bytes.equals(bytes)).toBe(true);
    const { file: _file, ...rest } = got;
    const { file: _sent, ...sent } = attachment;
    expect(rest).toEqual(sent);
    expect({ ...got.file!, bytes: undefined }).toEqual({ ...file, bytes: undefined });
  });
});
