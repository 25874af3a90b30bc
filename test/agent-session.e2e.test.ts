/**
 * A scripted 10-turn agent session (a 27 KB system prompt, 14 tools with 39 KB of schemas, one
 * tool call and one result per turn, the whole history resent every step, as Qwen Code and
 * opencode do), run with conversation reuse and with folding everything each step. Counts the
 * characters that reach Kimi (the emulator's record of each Chat request). docs/benchmarks.md
 * reports the figures this prints.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseChatRequest } from '../src/emulator/connect-request.js';
import { postJson, harnessPerTest, startHarness, type Harness } from './helpers/harness.js';
import { emuCall } from './helpers/texts.js';

const TURNS = 10;
const words = (seed: number, chars: number): string => {
  let out = '';
  for (let i = 0; out.length < chars; i++) out += `rule${seed}.${i} keep the workspace tidy and explain each change briefly. `;
  return out.slice(0, chars);
};
const SYSTEM = `You are a coding agent working in a repository. ${words(0, 27_000)}`;
const TOOLS = Array.from({ length: 14 }, (_, i) => ({
  type: 'function',
  function: {
    name: i === 0 ? 'read_file' : `tool_${i}`,
    description: words(i + 1, 2_600),
    parameters: { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'integer' }, recursive: { type: 'boolean' } }, required: ['path'] },
  },
}));

interface Session {
  /** Characters sent upstream per request. */
  sent: number[];
  answers: string[];
}

async function runSession(h: Harness): Promise<Session> {
  const messages: Array<Record<string, unknown>> = [{ role: 'system', content: SYSTEM }];
  const answers: string[] = [];
  for (let t = 1; t <= TURNS; t++) {
    messages.push({ role: 'user', content: `Step ${t}: look at file ${t}. ${emuCall('read_file', { path: `src/f${t}.ts` })}` });
    const call = await postJson(h, { model: 'k2', tools: TOOLS, messages });
    expect(call.status).toBe(200);
    const message = call.json.choices[0].message;
    expect(message.tool_calls).toHaveLength(1);
    messages.push({ role: 'assistant', content: message.content ?? '', tool_calls: message.tool_calls });
    messages.push({ role: 'tool', tool_call_id: message.tool_calls[0].id, content: `export const f${t} = ${t};\n${words(100 + t, 400)}` });
    const answer = await postJson(h, { model: 'k2', tools: TOOLS, messages });
    expect(answer.json.choices[0].finish_reason).toBe('stop');
    answers.push(String(answer.json.choices[0].message.content).replace(/call_\w+/g, 'call_X'));
    messages.push({ role: 'assistant', content: answer.json.choices[0].message.content });
  }
  const stats = await h.emulator.control.stats();
  const sent = stats.recentRequests.filter((r) => r.path.endsWith('/Chat') && r.body !== null).map((r) => parseChatRequest(r.body as Record<string, unknown>).text.length);
  return { sent, answers };
}

describe('a 10-turn agent session: characters sent upstream', () => {
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  const run = async (reuse: 'auto' | 'off'): Promise<Session> => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: reuse }, emulator: { maxEventsLogged: 100 }, logLevel: 'silent' });
    const s = await runSession(h);
    await h.close();
    h = undefined;
    return s;
  };

  it('continuing the chat sends only the new results and text, a fraction of folding everything', async () => {
    const full = await run('off');
    const reuse = await run('auto');
    expect(reuse.answers).toEqual(full.answers);
    expect(full.sent).toHaveLength(2 * TURNS);
    expect(reuse.sent).toHaveLength(2 * TURNS);
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // The first request carries the instructions; every later one only what is new.
    expect(Math.max(...reuse.sent.slice(1))).toBeLessThan(2_000);
    expect(total(reuse.sent)).toBeLessThan(total(full.sent) / 10);
    console.log(
      `agent session, ${TURNS} turns (${2 * TURNS} requests): folding everything ${total(full.sent)} chars ` +
        `(first ${full.sent[0]}, last ${full.sent.at(-1)}); continuing the chat ${total(reuse.sent)} chars ` +
        `(first ${reuse.sent[0]}, later ${Math.min(...reuse.sent.slice(1))}-${Math.max(...reuse.sent.slice(1))})`,
    );
  });
});

describe('session hints scope conversation reuse', () => {
  const start = harnessPerTest();

  it('the same history continues a chat only within the session that made it', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: 'auto' }, logLevel: 'silent' });
    const first = [{ role: 'user', content: 'Hello' }];
    const a1 = await postJson(h, { model: 'k2', messages: first }, undefined, { 'x-session-id': 'ses-A' });
    const next = [...first, { role: 'assistant', content: a1.json.choices[0].message.content }, { role: 'user', content: 'Again [[emu turn]]' }];
    const other = await postJson(h, { model: 'k2', messages: next }, undefined, { 'x-session-id': 'ses-B' });
    expect(other.json.choices[0].message.content).toMatch(/^turn=1 /);
    const same = await postJson(h, { model: 'k2', messages: next, prompt_cache_key: 'ignored-when-a-header-is-present' }, undefined, { 'x-session-id': 'ses-A' });
    expect(same.json.choices[0].message.content).toMatch(/^turn=2 /);
  });
});

describe('every door passes the client’s session hint to the core', () => {
  const start = harnessPerTest();

  it('Anthropic (x-claude-code-session-id) and Responses (session-id, prompt_cache_key) continue a chat only within their session', async () => {
    const h = await start({ env: { KIMI_PROTOCOL: 'connect', CONVERSATION_REUSE: 'auto' }, logLevel: 'silent' });
    const claude = (session: string, messages: unknown[]) =>
      postJson(h, { model: 'k2', max_tokens: 1000, messages }, '/v1/messages', { 'x-claude-code-session-id': session, 'anthropic-version': '2023-06-01' });
    const textOf = (json: { content: Array<{ type: string; text?: string }> }) => json.content.map((b) => b.text ?? '').join('');
    const a1 = await claude('cc-A', [{ role: 'user', content: 'Hello' }]);
    const next = [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: textOf(a1.json) }, { role: 'user', content: 'Again [[emu turn]]' }];
    expect(textOf((await claude('cc-B', next)).json)).toMatch(/^turn=1 /);
    expect(textOf((await claude('cc-A', next)).json)).toMatch(/^turn=2 /);

    const codex = (headers: Record<string, string>, body: Record<string, unknown>, input: unknown[]) => postJson(h, { model: 'k2', store: false, input, ...body }, '/v1/responses', headers);
    const outputText = (json: { output: Array<{ type: string; content?: Array<{ text: string }> }> }) => json.output.filter((i) => i.type === 'message').map((i) => i.content![0]!.text).join('');
    const r1 = await codex({ 'session-id': 'th-A' }, {}, [{ role: 'user', content: 'Hi there' }]);
    const history = [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: outputText(r1.json) }, { role: 'user', content: 'More [[emu turn]]' }];
    expect(outputText((await codex({ 'session-id': 'th-B' }, {}, history)).json)).toMatch(/^turn=1 /);
    expect(outputText((await codex({ 'session-id': 'th-A' }, {}, history)).json)).toMatch(/^turn=2 /);
    // Qwen Code's Responses mode sends only prompt_cache_key.
    const q1 = await codex({}, { prompt_cache_key: 'qwen-code:s1' }, [{ role: 'user', content: 'Hey' }]);
    const qHistory = [{ role: 'user', content: 'Hey' }, { role: 'assistant', content: outputText(q1.json) }, { role: 'user', content: 'More [[emu turn]]' }];
    expect(outputText((await codex({}, { prompt_cache_key: 'qwen-code:s2' }, qHistory)).json)).toMatch(/^turn=1 /);
    expect(outputText((await codex({}, { prompt_cache_key: 'qwen-code:s1' }, qHistory)).json)).toMatch(/^turn=2 /);
  });
});
