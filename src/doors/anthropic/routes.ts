/**
 * The Anthropic Messages front door: POST /v1/messages (also `?beta=true`, also without
 * /v1), POST /v1/messages/count_tokens, and POST /api/event_logging/batch (Claude Code's
 * logger; answered 204 so it stays quiet). Errors answer in Anthropic's shape.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { estimateTokens } from '../../core/tokens.js';
import { foldMessages } from '../../conversations/fold.js';
import { useErrorDialect } from '../../http/error-handler.js';
import { startDoorTurn, streamFrames, type DoorDeps } from '../door-turn.js';
import { parseWith } from '../parse-body.js';
import { sessionHintFrom } from '../session-hint.js';
import { toAnthropicError } from './errors.js';
import { renderAnthropicMessage } from './message.js';
import { countTokensRequestSchema, messagesRequestSchema, type MessagesRequest } from './request.js';
import { newMessageId, type AnthropicRenderOptions } from './shapes.js';
import { PING_FRAME, renderAnthropicStream } from './stream.js';
import { ThinkingSigner } from './thinking-signature.js';
import { anthropicToNeutral } from './to-neutral.js';

const PREFIXES = ['', '/v1'] as const;

/** Registers the door in its own child scope of the client API, so that all its errors (auth included) are Anthropic-shaped. */
export async function registerAnthropicRoutes(api: FastifyInstance, deps: DoorDeps): Promise<void> {
  await api.register(async (scope) => {
    useErrorDialect(scope, toAnthropicError);
    registerRoutes(scope, deps);
  });
}

/** Claude Code's logger endpoint: answered 204 (outside the client API: it needs no key) so the client stays quiet. */
export function registerEventLoggingSink(app: FastifyInstance): void {
  app.post('/api/event_logging/batch', async (_request, reply) => {
    void reply.code(204).send();
  });
}

/** Claude Code's `x-claude-code-session-id`. */
function sessionHintOf(request: FastifyRequest): { sessionHint?: string } {
  const hint = sessionHintFrom(request.headers);
  return hint ? { sessionHint: hint } : {};
}

function registerRoutes(app: FastifyInstance, deps: DoorDeps): void {
  // One secret per app: thinking signatures verify for as long as this app runs.
  const signer = new ThinkingSigner();
  // The request log tracks these routes from their first hook (refusals count too).
  const config = { logsTurn: true };

  const messages = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const body = parseWith(messagesRequestSchema, request.body) as MessagesRequest;
    const input = anthropicToNeutral(body, signer);
    if (input.returnedThinking.foreign > 0) {
      request.log.debug({ foreign: input.returnedThinking.foreign, ours: input.returnedThinking.ours }, 'dropped thinking blocks this proxy did not sign');
    }
    const stream = body.stream === true;
    const door = await startDoorTurn(deps, request, reply, {
      model: body.model,
      stream,
      messages: input.messages,
      resolve: input.resolve,
      ...(input.tools ? { tools: input.tools } : {}),
      ...sessionHintOf(request),
      limits: { ...(body.stop_sequences ? { stop: body.stop_sequences } : {}), ...(body.max_tokens != null ? { maxTokens: body.max_tokens } : {}) },
    });
    const opts: AnthropicRenderOptions = {
      id: newMessageId(),
      model: body.model,
      promptTokens: door.promptTokens,
      citations: deps.render.citations,
      signer,
      omitThinking: input.omitThinking,
      requestId: request.id,
      onEnd: request.ctx.reportEnd,
    };
    if (stream) {
      await streamFrames(deps, reply, door, renderAnthropicStream(door.events, opts), { pingFrame: PING_FRAME });
      return;
    }
    void reply.send(await renderAnthropicMessage(door.events, opts));
  };

  const countTokens = async (request: FastifyRequest): Promise<{ input_tokens: number }> => {
    const body = parseWith(countTokensRequestSchema, request.body) as MessagesRequest;
    const input = anthropicToNeutral(body, signer);
    // The text Kimi would receive, plus the tool definitions the tool pipeline describes to it.
    const tools = input.tools ? estimateTokens(JSON.stringify(input.tools.tools)) : 0;
    return { input_tokens: estimateTokens(foldMessages(input.messages)) + tools };
  };

  for (const prefix of PREFIXES) {
    app.post(`${prefix}/messages`, { config }, messages);
    app.post(`${prefix}/messages/count_tokens`, countTokens);
  }
}
