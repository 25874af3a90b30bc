import { describe, expect, it } from 'vitest';
import type { TranscriptMessage } from '../store/store.js';
import type { ChatMessage } from './messages.js';
import { canonicalContent, planTurn } from './turn-plan.js';

const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });
const s = (content: string): ChatMessage => ({ role: 'system', content });

const stored: TranscriptMessage[] = [
  { role: 'system', content: 'sys' },
  { role: 'user', content: 'q1' },
  { role: 'assistant', content: 'a1', upstreamId: 'A1' },
  { role: 'user', content: 'q2' },
  { role: 'assistant', content: 'a2', upstreamId: 'A2' },
];

describe('planTurn', () => {
  it('continues with only the new message when the client sends just that', () => {
    expect(planTurn(stored, [u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('drops a system prompt the conversation already has', () => {
    expect(planTurn(stored, [s('sys'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
    expect(planTurn(stored, [s('new rules'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [s('new rules'), u('q3')] });
  });

  it('continues with the tail when the client resends the whole history', () => {
    const plan = planTurn(stored, [s('sys'), u('q1'), a('a1'), u('q2'), a('a2'), u('q3')], true);
    expect(plan).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('recognises our own replies although the client shows them with think tags and sources', () => {
    const shown = '<think>\nhmm\n</think>\n\na2\n\nSources:\n1. [x](https://x)';
    expect(canonicalContent('assistant', shown)).toBe('a2');
    expect(planTurn(stored, [u('q1'), a('a1'), u('q2'), a(shown), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('continues when the client trimmed the oldest messages', () => {
    expect(planTurn(stored, [u('q2'), a('a2'), u('q3')], true)).toEqual({ kind: 'continue', fresh: [u('q3')] });
  });

  it('branches from the assistant turn before an edited user message', () => {
    const plan = planTurn(stored, [u('q1'), a('a1'), u('q2 edited')], true);
    expect(plan).toEqual({ kind: 'branch', fresh: [u('q2 edited')], keep: 3, parentId: 'A1' });
  });

  it('branches for a regenerate (history without the last reply)', () => {
    const plan = planTurn(stored, [s('sys'), u('q1'), a('a1'), u('q2')], true);
    expect(plan).toEqual({ kind: 'branch', fresh: [u('q2')], keep: 3, parentId: 'A1' });
  });

  it('restarts when the protocol cannot branch or there is no shared assistant turn', () => {
    expect(planTurn(stored, [u('q1'), a('a1'), u('q2 edited')], false)).toEqual({ kind: 'restart', fresh: [u('q1'), a('a1'), u('q2 edited')] });
    expect(planTurn(stored, [u('other'), a('x'), u('y')], true).kind).toBe('restart');
  });
});
