// One proxy stack for one test file: started before its tests, stopped after them. `onStart` sets up
// what a file builds on the stack (an SDK client, SDK defaults) once it is up.
import { after, before } from 'node:test';
import { startStack, type Stack } from './harness.ts';

export interface StackHolder {
  stack: Stack;
}

export function useStack(onStart?: (stack: Stack) => void): StackHolder {
  const ctx = {} as StackHolder;
  before(async () => {
    ctx.stack = await startStack();
    onStart?.(ctx.stack);
  });
  after(async () => {
    await ctx.stack?.stop();
  });
  return ctx;
}
