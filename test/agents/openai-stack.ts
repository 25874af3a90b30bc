// A proxy stack and an openai-node client on it, for one test file: started before its tests,
// stopped after them.
import { after, before } from 'node:test';
import OpenAI from 'openai';
import { startStack, type Stack } from './harness.ts';

export interface OpenAIStack {
  stack: Stack;
  client: OpenAI;
}

export function useOpenAIStack(): OpenAIStack {
  const ctx = {} as OpenAIStack;
  before(async () => {
    ctx.stack = await startStack();
    ctx.client = new OpenAI({ baseURL: ctx.stack.base, apiKey: ctx.stack.key, maxRetries: 0 });
  });
  after(async () => {
    await ctx.stack?.stop();
  });
  return ctx;
}
