/** POST /v1/chat/completions (stateless) and /v1/chat/completions/{conversation_id} (stateful). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import { newCompletionId } from '../core/ids.js';
import type { ChatService } from '../conversations/chat-service.js';
import { normalizeMessages } from '../conversations/messages.js';
import type { ModelRegistry } from '../models/registry.js';
import type { RequestLog } from '../observability/request-log.js';
import { renderCompletion } from '../render/openai/completion.js';
import { limitOutput } from '../render/output-limits.js';
import { renderChatStream } from '../render/openai/stream.js';
import { SseWriter } from '../render/sse-writer.js';
import { API_PREFIXES } from './prefixes.js';
import { sessionHintFrom } from '../doors/session-hint.js';
import { outputLimitsFrom, parseChatRequest, thinkingFromRequest, webSearchFromRequest } from './chat-request.js';
import { openAIToolFields } from './openai-tools.js';

const CONVERSATION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function conversationIdFrom(request: FastifyRequest, bodyId: string | null | undefined): string | undefined {
  const fromPath = (request.params as { conversationId?: string }).conversationId;
  const header = request.headers['x-conversation-id'];
  const id = fromPath ?? (typeof header === 'string' ? header : undefined) ?? bodyId ?? undefined;
  if (id === undefined) return undefined;
  if (!CONVERSATION_ID_RE.test(id)) {
    throw new ProxyError('invalid_request', 'conversation id must be 1-128 characters of letters, digits, ".", "_", ":" or "-".', { param: 'conversation_id' });
  }
  return id;
}

export interface ChatRouteDeps {
  chat: Pick<ChatService, 'start'>;
  models: Pick<ModelRegistry, 'resolve'>;
  requestLog: Pick<RequestLog, 'chat'>;
  clock: Clock;
  render: Pick<Config, 'keepAliveMs' | 'reasoningOutput' | 'citations'>;
}

export function registerChatRoutes(app: FastifyInstance, deps: ChatRouteDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const { ctx } = request;
    const track = deps.requestLog.chat(request);
    const body = parseChatRequest(request.body);
    const conversationId = conversationIdFrom(request, body.conversation_id);
    track.setRequest(body, conversationId);
    const messages = normalizeMessages(body.messages);
    const toolFields = openAIToolFields(body);
    const sessionHint = sessionHintFrom(request.headers, body.prompt_cache_key);
    const thinking = thinkingFromRequest(body);
    const webSearch = webSearchFromRequest(body) ?? (toolFields.webSearch ? true : undefined);
    const model = await deps.models.resolve(body.model, {
      ...(thinking !== undefined ? { thinking } : {}),
      ...(webSearch !== undefined ? { webSearch } : {}),
      ...(body.reasoning_effort ? { reasoningEffort: body.reasoning_effort } : {}),
    });
    if (!model) {
      throw new ProxyError('model_not_found', `The model "${body.model}" does not exist. GET /v1/models lists the available ids.`, { param: 'model' });
    }
    track.setModel(model);

    // What the answer needs of the body, read now: an agent's body (its tools and history, tens
    // of KB of parsed JSON) is not kept alive while the answer streams.
    const limits = outputLimitsFrom(body);
    const answer = { model: body.model, stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true, legacyFunctions: toolFields.legacyFunctions };

    // The client going away, or the end of a shutdown's grace period, stops the upstream work.
    const signal = ctx.signal;
    const turn = await deps.chat.start({
      owner: ctx.identity.id,
      model,
      messages,
      signal,
      onUpstreamFailure: track.noteFailure,
      ...(request.inlineData ? { inline: request.inlineData } : {}),
      ...(conversationId ? { conversationId } : {}),
      ...(toolFields.tools ? { tools: toolFields.tools } : {}),
      ...(toolFields.responseFormat ? { responseFormat: toolFields.responseFormat } : {}),
      ...(sessionHint ? { sessionHint } : {}),
    });
    track.setTurn(turn);
    request.body = undefined;
    const events = limitOutput(turn.events, limits);
    const config = deps.render;
    const renderOptions = {
      id: newCompletionId(),
      created: Math.floor(deps.clock.now() / 1000),
      model: answer.model,
      includeUsage: answer.includeUsage,
      reasoning: config.reasoningOutput,
      citations: config.citations,
      promptTokens: turn.promptTokens,
      requestId: request.id,
      legacyFunctions: answer.legacyFunctions,
      // How the response ended and its usage: for the key's counters and the request log.
      onEnd: ctx.reportEnd,
    };
    const headers: Record<string, string> = { 'x-request-id': request.id };
    if (conversationId) headers['x-conversation-id'] = conversationId;

    if (answer.stream) {
      if (signal.aborted) {
        turn.abandon();
        if (reply.raw.destroyed) return; // the client has gone: nobody to answer
        throw signal.reason; // shutting down
      }
      reply.hijack();
      // The writer sees the client go away by itself; a shutdown reaches the stream through
      // the turn, which ends with an error frame.
      const writer = new SseWriter(reply.raw, { keepAliveMs: config.keepAliveMs, headers });
      writer.open();
      await writer.pipe(track.frames(renderChatStream(events, renderOptions)));
      writer.end();
      return;
    }
    const completion = await renderCompletion(events, renderOptions);
    void reply.headers(headers).send(completion);
  };

  // The request log tracks these routes from their first hook (refusals count too).
  const routeConfig = { logsTurn: true };
  for (const prefix of API_PREFIXES) {
    app.post(`${prefix}/chat/completions`, { config: routeConfig }, handler);
    if (!prefix.includes(':conversationId')) app.post(`${prefix}/chat/completions/:conversationId`, { config: routeConfig }, handler);
  }
}
