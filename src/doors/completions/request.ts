/**
 * The legacy OpenAI completions request (`POST /v1/completions`) as this proxy reads it.
 * Unknown fields are accepted and ignored, like the chat route's; the ones that matter are
 * validated with errors that name the field.
 */
import { z } from 'zod';

/** Prompts answered one after another in one request; more is refused rather than queued for minutes. */
export const MAX_PROMPTS = 16;

const text = z.string({ error: 'expected a string' });
const tokens = z.array(z.number().int());

export const completionsRequestSchema = z.looseObject({
  model: z.string({ error: 'expected a model id string' }).min(1, 'must not be empty').max(200),
  // Token-id prompts are accepted by the schema so that the route can refuse them with a clear message.
  prompt: z.union([text, z.array(z.union([text, tokens, z.number().int()])).min(1, 'must hold at least one prompt')], {
    error: 'expected a string or an array of strings',
  }),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  echo: z.boolean().nullish(),
  n: z.number().int('must be an integer').nullish(),
  best_of: z.number().int('must be an integer').nullish(),
  logprobs: z.number().int('must be an integer').nullish(),
  suffix: z.string().nullish(),
  max_tokens: z.number().int('must be an integer').min(1, 'must be at least 1').nullish(),
  stop: z
    .union([z.string(), z.array(z.string({ error: 'expected a string' }).max(1000, 'must be at most 1000 characters')).max(64, 'must hold at most 64 sequences')], {
      error: 'expected a string or an array of strings',
    })
    .nullish(),
});

export type CompletionsRequest = z.infer<typeof completionsRequestSchema>;
