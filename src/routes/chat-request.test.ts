import { describe, expect, it } from 'vitest';
import { toOpenAIError } from '../core/errors.js';
import { parseChatRequest } from './chat-request.js';

const base = { model: 'k2', messages: [{ role: 'user', content: 'hi' }] };

describe('reasoning_effort', () => {
  it('accepts the OpenAI values in any case', () => {
    for (const effort of ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max', 'HIGH']) {
      expect(parseChatRequest({ ...base, reasoning_effort: effort }).reasoning_effort).toBe(effort);
    }
  });

  it('refuses an unknown value with a 400 that names the allowed ones', () => {
    let thrown: unknown;
    try {
      parseChatRequest({ ...base, reasoning_effort: 'bogus' });
    } catch (err) {
      thrown = err;
    }
    const { status, body } = toOpenAIError(thrown, 'req-1');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({
      param: 'reasoning_effort',
      message: 'Invalid request: reasoning_effort: expected one of none, minimal, low, medium, high, xhigh, max, got "bogus".',
    });
  });
});
