/**
 * The legacy completions door: POST /v1/completions (also without /v1), streamed or not,
 * for the tools that still use it. Each prompt is sent to Kimi as one user message and
 * answered in OpenAI's `text_completion` shapes; several prompts get one choice each, in
 * order. `stop` and `max_tokens` are applied on the ChatEvent seam (render/output-limits.ts).
 * Errors are OpenAI-shaped (the client API's default dialect).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError } from '../../core/errors.js';
import { randomAlnum } from '../../core/ids.js';
import { DONE_FRAME, errorFrame } from '../../render/openai/errors.js';
import { outputLimitsFrom } from '../../routes/chat-request.js';
import { startDoorTurn, streamFrames, type DoorDeps, type DoorTurn, type NeutralRequest } from '../door-turn.js';
import { parseWith } from '../parse-body.js';
import { sessionHintFrom } from '../session-hint.js';
import { renderTextChoice, renderTextChoiceStream, type ChoiceOptions, type ChoiceUsage, type TextChoice } from './render.js';
import { MAX_PROMPTS, completionsRequestSchema, type CompletionsRequest } from './request.js';

const PREFIXES = ['', '/v1'] as const;

export const newTextCompletionId = (): string => `cmpl-${randomAlnum(29)}`;

function promptsOf(req: CompletionsRequest): string[] {
  const list = typeof req.prompt === 'string' ? [req.prompt] : req.prompt;
  if (list.length > MAX_PROMPTS) {
    throw new ProxyError('invalid_request', `prompt: at most ${MAX_PROMPTS} prompts per request; they are answered one after another.`, { param: 'prompt' });
  }
  return list.map((p, i) => {
    if (typeof p === 'string') return p;
    throw new ProxyError('invalid_request', `prompt[${i}]: token-id prompts cannot be sent to Kimi, which takes text; send the prompt as a string.`, { param: 'prompt' });
  });
}

function refuseUnsupported(req: CompletionsRequest): void {
  const refuse = (param: string, why: string): never => {
    throw new ProxyError('invalid_request', `${param}: ${why}`, { param });
  };
  if (req.n != null && req.n !== 1) refuse('n', 'only n = 1 is supported: Kimi returns one answer per request.');
  if (req.best_of != null && req.best_of !== 1) refuse('best_of', 'only best_of = 1 is supported: Kimi returns one answer per request.');
  if (req.logprobs != null && req.logprobs > 0) refuse('logprobs', 'Kimi reports no token log probabilities.');
}

const sumUsage = (all: ChoiceUsage[]) => {
  const prompt = all.reduce((a, u) => a + u.prompt_tokens, 0);
  const completion = all.reduce((a, u) => a + u.completion_tokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

export function registerCompletionsRoutes(app: FastifyInstance, deps: DoorDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const body = parseWith(completionsRequestSchema, request.body) as CompletionsRequest;
    refuseUnsupported(body);
    const prompts = promptsOf(body);
    const stream = body.stream === true;
    const sessionHint = sessionHintFrom(request.headers);
    const limits = outputLimitsFrom(body);
    const turnFor = (prompt: string): Promise<DoorTurn> => {
      const input: NeutralRequest = { model: body.model, stream, messages: [{ role: 'user', content: prompt }], resolve: {} };
      if (sessionHint) input.sessionHint = sessionHint;
      if (limits) input.limits = limits;
      return startDoorTurn(deps, request, reply, input);
    };
    const id = newTextCompletionId();
    const created = Math.floor(deps.clock.now() / 1000);
    const optionsFor = (door: DoorTurn, index: number): ChoiceOptions => ({
      id,
      created,
      model: body.model,
      index,
      promptTokens: door.promptTokens,
      citations: deps.render.citations,
      ...(body.echo === true ? { echo: prompts[index] } : {}),
      requestId: request.id,
      onEnd: request.ctx.reportEnd,
    });

    // The first turn starts before anything is sent, so a refusal is a plain HTTP error.
    const first = await turnFor(prompts[0]!);
    if (stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      const frames = async function* (): AsyncGenerator<string> {
        const usages: ChoiceUsage[] = [];
        for (let i = 0; i < prompts.length; i++) {
          let door = first;
          if (i > 0) {
            try {
              door = await turnFor(prompts[i]!);
            } catch (err) {
              yield errorFrame(err, request.id) + DONE_FRAME;
              return;
            }
          }
          const usage = yield* renderTextChoiceStream(door.events, optionsFor(door, i));
          if (usage === undefined) {
            yield DONE_FRAME;
            return;
          }
          usages.push(usage);
        }
        const usageChunk = includeUsage ? `data: ${JSON.stringify({ id, object: 'text_completion', created, model: body.model, choices: [], usage: sumUsage(usages) })}\n\n` : '';
        yield usageChunk + DONE_FRAME;
      };
      await streamFrames(deps, reply, first, frames());
      return;
    }
    const choices: TextChoice[] = [];
    const usages: ChoiceUsage[] = [];
    for (let i = 0; i < prompts.length; i++) {
      const door = i === 0 ? first : await turnFor(prompts[i]!);
      const { choice, usage } = await renderTextChoice(door.events, optionsFor(door, i));
      choices.push(choice);
      usages.push(usage);
    }
    void reply.send({ id, object: 'text_completion', created, model: body.model, choices, usage: sumUsage(usages), system_fingerprint: null });
  };

  for (const prefix of PREFIXES) {
    // The request log tracks this route from its first hook (refusals count too).
    app.post(`${prefix}/completions`, { config: { logsTurn: true } }, handler);
  }
}
