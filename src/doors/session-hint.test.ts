import { describe, expect, it } from 'vitest';
import { sessionHintFrom } from './session-hint.js';

describe('sessionHintFrom', () => {
  it('reads each agent client’s session header, a header before prompt_cache_key', () => {
    expect(sessionHintFrom({ 'x-session-id': 'ses_1' })).toBe('x-session-id:ses_1');
    expect(sessionHintFrom({ 'session-id': 'th-1' }, 'th-1')).toBe('session-id:th-1');
    expect(sessionHintFrom({ session_id: 'th-2' })).toBe('session_id:th-2');
    expect(sessionHintFrom({ 'x-claude-code-session-id': ' cc-1 ' })).toBe('x-claude-code-session-id:cc-1');
    expect(sessionHintFrom({}, 'qwen-code:abc')).toBe('prompt_cache_key:qwen-code:abc');
  });

  it('gives none without a hint, and bounds a long one', () => {
    expect(sessionHintFrom({ 'x-session-id': '  ' })).toBeUndefined();
    expect(sessionHintFrom({}, null)).toBeUndefined();
    expect(sessionHintFrom({ 'x-session-id': 'x'.repeat(1000) })).toHaveLength('x-session-id:'.length + 200);
  });
});
