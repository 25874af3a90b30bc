// A proxy stack and an openai-node client on it, for one test file: started before its tests,
// stopped after them.
import OpenAI from 'openai';
import type { Stack } from './harness.ts';
import { useStack } from './use-stack.ts';

export interface OpenAIStack {
  stack: Stack;
  client: OpenAI;
}

export function useOpenAIStack(): OpenAIStack {
  const ctx = {} as OpenAIStack;
  useStack((stack) => {
    ctx.stack = stack;
    ctx.client = new OpenAI({ baseURL: stack.base, apiKey: stack.key, maxRetries: 0 });
  });
  return ctx;
}
