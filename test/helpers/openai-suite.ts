import OpenAI from 'openai';
import { afterAll, beforeAll } from 'vitest';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

export interface OpenAISuite {
  h: Harness;
  /** openai-node on the harness's /v1, without retries: each test sees the first answer or error itself. */
  sdk: OpenAI;
}

/**
 * One harness and an openai-node client on it for the calling suite: started before its tests, closed
 * after them (registers `beforeAll`/`afterAll` there). `const the = openAIPerSuite({ env })`, then
 * `the.sdk` in each test.
 */
export function openAIPerSuite(opts: HarnessOptions = {}): OpenAISuite {
  const ctx = {} as OpenAISuite;
  beforeAll(async () => {
    ctx.h = await startHarness(opts);
    ctx.sdk = new OpenAI({ baseURL: `${ctx.h.base}/v1`, apiKey: ctx.h.apiKey, maxRetries: 0 });
  });
  afterAll(async () => ctx.h?.close());
  return ctx;
}
