/** Streaming tool calls over raw SSE: keep-alives while a call block is written, an upstream failure inside a block. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postStream, startHarness, type Harness } from './helpers/harness.js';
import { emuCall } from './helpers/texts.js';

const tools = [{ type: 'function', function: { name: 'write_file', parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } } } } }];

describe('tool calls over SSE', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KEEPALIVE_INTERVAL_MS: '100' } });
  });
  afterAll(async () => h.close());

  it('keeps the connection alive with comments while the model writes a call block', async () => {
    const r = await postStream(h, { model: 'k2', tools, messages: [{ role: 'user', content: emuCall('write_file', { path: 'a' }, { long: 3, deltas: 6, delay: 250, reply: 'Writing.' }) }] });
    const beforeCall = r.raw.slice(r.raw.indexOf('Writing.'), r.raw.indexOf('"tool_calls"'));
    expect(beforeCall).toContain(': ping\n\n');
    expect(r.raw).not.toContain('|KP|');
    expect(r.events.at(-2)).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
  });

  it('an upstream failure inside a call block ends in an error frame, with no call sent', async () => {
    const r = await postStream(h, { model: 'k2', tools, messages: [{ role: 'user', content: emuCall('write_file', { path: 'a' }, { long: 20, reply: 'Writing.', fault: 'cut', after: 8 }) }] });
    expect(r.raw).not.toContain('"tool_calls"');
    expect(r.raw).not.toContain('|KP|');
    expect(r.events.at(-2)).toMatchObject({ error: { type: 'upstream_error' } });
    expect(r.events.at(-1)).toBe('[DONE]');
  });
});
