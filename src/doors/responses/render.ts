/**
 * ChatEvent stream → the Responses API, streamed (the builder's events) or as one response.
 * `onFinished` runs before the last event leaves, so a client that continues with
 * `previous_response_id` at once finds the response stored.
 */
import type { ChatEvent } from '../../core/chat-event.js';
import { ProxyError } from '../../core/errors.js';
import { EventPull } from '../../render/event-pull.js';
import { reportEnd, type ResponseEnd } from '../../render/response-end.js';
import type { ResponseBuilder } from './builder.js';
import type { ResponseObject } from './response-object.js';

export interface RenderHooks {
  /** Told once how the response ended (finish with the estimated usage, error, client gone). */
  onEnd?: (end: ResponseEnd) => void;
  /** The finished response, before it is sent (storing it). */
  onFinished?: (response: ResponseObject) => Promise<void>;
}

/** Feeds one event to the builder; returns the frames, or the finish reason. */
function apply(b: ResponseBuilder, event: ChatEvent): string {
  switch (event.type) {
    case 'text-delta':
      return b.text(event.text);
    case 'text-replace':
      return b.replaceWithRefs(event.previous, event.previousRefs, event.text, event.refs);
    case 'citation-ref':
      return b.citationRef(event.index, event.reasoning === true);
    case 'reasoning-delta':
      return b.reasoning(event.text);
    case 'tool-call':
      return b.toolCall(event.call);
    case 'citation':
      b.citation(event.citation);
      return '';
    default:
      return ''; // meta, search, heartbeat (the writer keeps the stream alive)
  }
}

const noFinish = (): ProxyError => new ProxyError('upstream_protocol_error', 'The upstream stream ended without a finish event.');

export async function* renderResponsesStream(events: AsyncIterable<ChatEvent>, b: ResponseBuilder, hooks: RenderHooks): AsyncGenerator<string, void, undefined> {
  const source = new EventPull(events);
  let reported = false;
  try {
    yield b.start();
    try {
      for (;;) {
        const step = await source.next();
        if (step.done === true) throw noFinish();
        const event = step.value;
        if (event.type === 'finish') {
          const { frames, usage } = b.finish(event.reason);
          await hooks.onFinished?.(b.response);
          reported = true;
          reportEnd(hooks.onEnd, { outcome: 'finish', usage });
          yield frames;
          return;
        }
        const frames = apply(b, event);
        if (frames.length > 0) yield frames;
      }
    } catch (err) {
      reported = true;
      reportEnd(hooks.onEnd, { outcome: 'error', error: err });
      yield b.fail(err);
    }
  } finally {
    if (!reported) reportEnd(hooks.onEnd, { outcome: 'client_gone' });
    await source.close();
  }
}

/** The whole response at once; a failure is thrown (the route answers it with an HTTP error). */
export async function renderResponse(events: AsyncIterable<ChatEvent>, b: ResponseBuilder, hooks: RenderHooks): Promise<ResponseObject> {
  try {
    for await (const event of events) {
      if (event.type !== 'finish') {
        apply(b, event);
        continue;
      }
      const { usage } = b.finish(event.reason);
      await hooks.onFinished?.(b.response);
      reportEnd(hooks.onEnd, { outcome: 'finish', usage });
      return b.response;
    }
    throw noFinish();
  } catch (err) {
    reportEnd(hooks.onEnd, { outcome: 'error', error: err });
    throw err;
  }
}
