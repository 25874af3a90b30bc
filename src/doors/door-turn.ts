/**
 * What every front door does between its request adapter and its renderer: resolve the
 * model, start the turn on the core, and stream frames with backpressure and keep-alives.
 * The caller's identity, the cancelling signal and the usage report come from the request
 * context the client API gives every route. A door supplies the neutral input and the frames.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { ChatEvent } from '../core/chat-event.js';
import type { Clock } from '../core/clock.js';
import { ProxyError } from '../core/errors.js';
import type { ResponseFormat, ToolRequest } from '../core/tool-spec.js';
import type { ChatService, StartedTurn } from '../conversations/chat-service.js';
import type { ChatMessage } from '../conversations/messages.js';
import type { ResolveOptions, ResolvedModel } from '../models/model-table.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ChatTrack, RequestLog } from '../observability/request-log.js';
import { limitOutput, type OutputLimits } from '../render/output-limits.js';
import { SseWriter } from '../render/sse-writer.js';

/** The narrow dependencies a door's routes use. */
export interface DoorDeps {
  chat: Pick<ChatService, 'start'>;
  models: Pick<ModelRegistry, 'resolve'>;
  requestLog: Pick<RequestLog, 'chat'>;
  clock: Clock;
  render: Pick<Config, 'keepAliveMs' | 'citations'>;
}

/** A door's request, mapped onto the neutral input the core takes. */
export interface NeutralRequest {
  /** The model id as the client sent it (echoed back). */
  model: string;
  stream: boolean;
  messages: ChatMessage[];
  /** Thinking, effort and search switches from the door's own fields. */
  resolve: ResolveOptions;
  tools?: ToolRequest;
  responseFormat?: ResponseFormat;
  conversationId?: string;
  /** The agent session this request belongs to (session-hint.ts). */
  sessionHint?: string;
  /** Stop sequences and the token limit, applied to the answer before it is rendered. */
  limits?: OutputLimits;
}

export interface DoorTurn {
  turn: StartedTurn;
  /** The turn's events with the request's output limits applied: what the renderer reads. */
  events: AsyncIterable<ChatEvent>;
  model: ResolvedModel;
  track: ChatTrack;
  /** Estimated tokens of the text sent upstream. */
  promptTokens: number;
}

export async function startDoorTurn(deps: DoorDeps, request: FastifyRequest, reply: FastifyReply, input: NeutralRequest): Promise<DoorTurn> {
  const { ctx } = request;
  const track = deps.requestLog.chat(request);
  track.setRequest({ model: input.model, stream: input.stream, messages: input.messages }, input.conversationId);
  const model = await deps.models.resolve(input.model, input.resolve);
  if (!model) {
    throw new ProxyError('model_not_found', `The model "${input.model}" does not exist. GET /v1/models lists the available ids; MODEL_ALIASES maps other names onto them.`, {
      param: 'model',
    });
  }
  track.setModel(model);
  // The client going away, or the end of a shutdown's grace period, stops the upstream work.
  const signal = ctx.signal;
  const turn = await deps.chat.start({
    owner: ctx.identity.id,
    model,
    messages: input.messages,
    signal,
    onUpstreamFailure: track.noteFailure,
    ...(request.inlineData ? { inline: request.inlineData } : {}),
    ...(input.conversationId ? { conversationId: input.conversationId } : {}),
    ...(input.tools ? { tools: input.tools } : {}),
    ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
    ...(input.sessionHint ? { sessionHint: input.sessionHint } : {}),
  });
  track.setTurn(turn);
  // The parsed body (an agent's tools and history) is not kept alive while the answer streams.
  request.body = undefined;
  if (input.stream && signal.aborted) {
    turn.abandon();
    if (!reply.raw.destroyed) throw signal.reason; // shutting down; a client that left gets nothing
  }
  return { turn, events: limitOutput(turn.events, input.limits), model, track, promptTokens: turn.promptTokens };
}

export interface StreamOptions {
  headers?: Record<string, string>;
  /** The keep-alive frame when nothing was written for a while (default: an SSE comment). */
  pingFrame?: string;
}

/** Sends `frames` as an event stream; the reply is the door's from here on. */
export async function streamFrames(deps: DoorDeps, reply: FastifyReply, door: DoorTurn, frames: AsyncIterable<string>, opts: StreamOptions = {}): Promise<void> {
  if (reply.raw.destroyed) {
    door.turn.abandon();
    return; // the client has gone: nobody to answer
  }
  reply.hijack();
  const writer = new SseWriter(reply.raw, {
    keepAliveMs: deps.render.keepAliveMs,
    headers: { 'x-request-id': reply.request.id, ...opts.headers },
    ...(opts.pingFrame ? { pingFrame: opts.pingFrame } : {}),
  });
  writer.open();
  await writer.pipe(door.track.frames(frames));
  writer.end();
}
