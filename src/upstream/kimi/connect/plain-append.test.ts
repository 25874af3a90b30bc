import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendText, data, decode, done, enc, texts } from '../__fixtures__/connect-frames.js';
import { encodeEnvelope } from './envelope.js';

describe('decodeConnectChat: plain deltas read without JSON.parse', () => {
  /** The same frame pretty-printed: valid JSON that only the full parse reads. */
  const spaced = (json: unknown) => encodeEnvelope(0, enc.encode(JSON.stringify(json, null, 1)));
  const frame = (mask: 'block.text.content' | 'block.think.content', eventOffset: number, id: string, content: string) =>
    mask === 'block.text.content'
      ? { op: 'append', mask, eventOffset, block: { id, text: { content } } }
      : { op: 'append', mask, eventOffset, block: { id, think: { content } } };

  it('decodes any text and thinking delta exactly as the full parse does', async () => {
    const delta = fc.record({
      mask: fc.constantFrom('block.text.content' as const, 'block.think.content' as const),
      eventOffset: fc.nat(),
      id: fc.string({ unit: 'binary', maxLength: 4 }),
      content: fc.string({ unit: 'binary' }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(delta, { maxLength: 8 }), async (deltas) => {
        const frames = deltas.map((d) => frame(d.mask, d.eventOffset, d.id, d.content));
        const compact = await decode([...frames.map((f) => data(f)), done()]);
        const full = await decode([...frames.map(spaced), done()]);
        expect(compact).toEqual(full);
        // Buffers (what undici reads are) take the in-place decoding path.
        const buffers = await decode([...frames.map((f) => Buffer.from(data(f))), Buffer.from(done())]);
        expect(buffers).toEqual(full);
      }),
    );
  });

  it('still rejects a near-miss that is not JSON, and still reads the fields the plain shape lacks', async () => {
    for (const bad of [
      '{"op":"append","mask":"block.text.content","eventOffset":01,"block":{"id":"1","text":{"content":"x"}}}',
      '{"op":"append","mask":"block.text.content","eventOffset":1,"block":{"id":"1","text":{"content":"x\u0001"}}}',
      '{"op":"append","mask":"block.text.content","eventOffset":1,"block":{"id":"1","text":{"content":"x"}}}}',
    ]) {
      const r = await decode([encodeEnvelope(0, enc.encode(bad)), done()]);
      expect(r.error).toMatchObject({ code: 'upstream_protocol_error', upstreamCode: 'invalid_json' });
    }
    const user = await decode([
      data({ op: 'set', mask: 'message', message: { id: 'U', role: 'user' } }),
      data({ op: 'append', mask: 'block.text.content', eventOffset: 2, block: { id: '1', messageId: 'U', text: { content: 'echo' } } }),
      appendText('1', 'answer'),
      done(),
    ]);
    expect(texts(user.events)).toBe('answer');
  });
});
