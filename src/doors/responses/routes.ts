/**
 * The OpenAI Responses front door: POST /v1/responses (streamed or not), GET / DELETE
 * /v1/responses/{id}, GET /v1/responses/{id}/input_items, POST /v1/responses/{id}/cancel.
 * Also served without /v1. Errors are OpenAI-shaped (the client API's default dialect).
 *
 * `previous_response_id` continues a stored response: the history is rebuilt from the stored
 * chain and sent as a stateless request, so the conversation reuse of the core
 * (CONVERSATION_REUSE) recognises it and continues the same Kimi chat with only the new items.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withDataUrls } from '../../attachments/inline-data.js';
import { ProxyError } from '../../core/errors.js';
import type { ChatMessage } from '../../conversations/messages.js';
import { startDoorTurn, streamFrames, type DoorDeps } from '../door-turn.js';
import { parseWith } from '../parse-body.js';
import { sessionHintFrom } from '../session-hint.js';
import { ResponseBuilder } from './builder.js';
import { inputItemsOf, pageOf } from './input-items.js';
import { renderResponse, renderResponsesStream, type RenderHooks } from './render.js';
import { responsesRequestSchema, type ResponsesRequest } from './request.js';
import { initialResponse, newResponseId } from './response-object.js';
import type { ResponseStore } from './response-store.js';
import { responsesToNeutral } from './to-neutral.js';

export interface ResponsesDeps extends DoorDeps {
  responses: ResponseStore;
}

const PREFIXES = ['', '/v1'] as const;

function notFound(id: string, param?: string): ProxyError {
  return new ProxyError('not_found', `No response with id "${id.slice(0, 80)}": it never existed, expired, was deleted, was created with store: false, or belongs to another key.`, {
    param: param ?? null,
  });
}

export function registerResponsesRoutes(app: FastifyInstance, deps: ResponsesDeps): void {
  const create = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const body = parseWith(responsesRequestSchema, request.body) as ResponsesRequest;
    if (body.background === true) {
      throw new ProxyError('invalid_request', 'background: true is not supported: this proxy answers every response within its request.', { param: 'background' });
    }
    const owner = request.ctx.identity.id;
    const input = responsesToNeutral(body);
    let history: ChatMessage[] = [];
    if (body.previous_response_id) {
      const prev = await deps.responses.get(owner, body.previous_response_id);
      if (!prev) throw notFound(body.previous_response_id, 'previous_response_id');
      history = await deps.responses.history(owner, prev);
    }
    // `instructions` apply to this request only; earlier ones are not carried over.
    const messages = [...(input.instructions ? [input.instructions] : []), ...history, ...input.messages];
    const stream = body.stream === true;
    // Codex: `session-id` header and `prompt_cache_key`; Qwen Code's Responses mode: `prompt_cache_key`.
    const sessionHint = sessionHintFrom(request.headers, body.prompt_cache_key);
    const door = await startDoorTurn(deps, request, reply, {
      model: body.model,
      stream,
      messages,
      resolve: input.resolve,
      ...(input.tools ? { tools: input.tools } : {}),
      ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
      ...(sessionHint ? { sessionHint } : {}),
      ...(body.max_output_tokens != null ? { limits: { maxTokens: body.max_output_tokens } } : {}),
    });
    const builder = new ResponseBuilder(initialResponse(newResponseId(), deps.clock.now(), body), {
      stream,
      promptTokens: door.promptTokens,
      citations: deps.render.citations,
      freeformTools: input.freeformTools,
    });
    const hooks: RenderHooks = { onEnd: request.ctx.reportEnd };
    if (body.store !== false) {
      const inputItems = inputItemsOf(body.input);
      // The input items are shown back as sent: data URLs the body reader took out are put back.
      hooks.onFinished = (response) => deps.responses.save(owner, { response, inputItems: withDataUrls(inputItems, request.inlineData), messages: input.messages });
    }
    if (stream) {
      await streamFrames(deps, reply, door, renderResponsesStream(door.events, builder, hooks));
      return;
    }
    void reply.send(await renderResponse(door.events, builder, hooks));
  };

  const stored = async (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    const record = await deps.responses.get(request.ctx.identity.id, id);
    if (!record) throw notFound(id);
    return record;
  };

  for (const prefix of PREFIXES) {
    // The request log tracks the creating route from its first hook (refusals count too).
    app.post(`${prefix}/responses`, { config: { logsTurn: true } }, create);
    app.get(`${prefix}/responses/:id`, async (request) => (await stored(request)).response);
    app.delete(`${prefix}/responses/:id`, async (request) => {
      const { id } = request.params as { id: string };
      if (!(await deps.responses.delete(request.ctx.identity.id, id))) throw notFound(id);
      return { id, object: 'response', deleted: true };
    });
    app.get(`${prefix}/responses/:id/input_items`, async (request) => pageOf((await stored(request)).inputItems, request.query as Record<string, unknown>));
    app.post(`${prefix}/responses/:id/cancel`, async (request) => {
      const record = await stored(request);
      throw new ProxyError('invalid_request', `Only background responses can be cancelled; ${record.response.id} ran within its request and is already ${record.response.status}.`, {
        param: 'response_id',
      });
    });
  }
}
