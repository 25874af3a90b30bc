import { describe, expect, it } from 'vitest';
import { PromptTokenCounter } from './prompt-tokens.js';
import { estimateTokens } from './tokens.js';

/** A counter whose estimator records what it was asked to count. */
function recording(maxEntries?: number): { counter: PromptTokenCounter; counted: string[] } {
  const counted: string[] = [];
  const counter = new PromptTokenCounter(maxEntries, (text) => {
    counted.push(text);
    return estimateTokens(text);
  });
  return { counter, counted };
}

const tools = `# Tools\n${'Call read_file with a path when you need to see a file. '.repeat(80)}`;
const system = `You are a coding agent. ${'Keep answers short and precise. '.repeat(100)}`;

describe('PromptTokenCounter', () => {
  it('estimates a repeated system text once and only the rest of later prompts', () => {
    const { counter, counted } = recording();
    const first = `<system_instructions>\n${system}\n\n${tools}\n</system_instructions>\n\nfirst question`;
    const second = `<system_instructions>\n${system}\n\n${tools}\n</system_instructions>\n\nsecond question`;
    counter.estimate(first, [system, tools]);
    counted.length = 0;
    const tokens = counter.estimate(second, [system, tools]);
    expect(counted).toEqual(['<system_instructions>\n\n\n\n</system_instructions>\n\nsecond question']);
    expect(tokens).toBe(estimateTokens(system) + estimateTokens(tools) + estimateTokens(counted[0]!));
  });

  it('stays within a few percent of estimating the whole prompt', () => {
    const prompt = `<system_instructions>\n${system}\n\n${tools}\n</system_instructions>\n\nReply to the user message below.\n<latest_user_message>\nWhat does main.ts do?\n</latest_user_message>`;
    const whole = estimateTokens(prompt);
    expect(Math.abs(new PromptTokenCounter().estimate(prompt, [system, tools]) - whole) / whole).toBeLessThan(0.03);
  });

  it('counts short texts and texts absent from the prompt as part of the prompt', () => {
    const { counter, counted } = recording();
    expect(counter.estimate('be brief\n\nhello', ['be brief', tools])).toBe(estimateTokens('be brief\n\nhello'));
    expect(counted).toEqual(['be brief\n\nhello']);
  });

  it('forgets the oldest text beyond its bound', () => {
    const { counter, counted } = recording(1);
    const other = tools.replace('# Tools', '# Functions');
    counter.estimate(`${tools}\nq`, [tools]);
    counter.estimate(`${other}\nq`, [other]);
    counted.length = 0;
    counter.estimate(`${tools}\nq`, [tools]);
    expect(counted).toContain(tools);
  });
});
