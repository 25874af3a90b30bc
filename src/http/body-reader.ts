/**
 * Reads a request body into one buffer. With a `content-length` the buffer is allocated once
 * at that size and the socket's chunks are copied in as they come, instead of kept in a list
 * and joined at the end (which holds the body twice for a moment: a 13 MiB image body is
 * 26 MiB). Without one (chunked bodies) the buffer doubles as needed.
 *
 * The outcome is Fastify's own raw body reader's (content-type-parser.js `rawBody`), error for
 * error, so the error handler treats both alike: a declared or received length over the limit
 * is FST_ERR_CTP_BODY_TOO_LARGE (413), a received length that is not the declared one is
 * FST_ERR_CTP_INVALID_CONTENT_LENGTH (400), and a stream error (the client aborted) is passed
 * on with a 4xx status. Slow bodies are Node's to cut (the server's `requestTimeout`).
 */
import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

/** The first size of a buffer for a body of unknown length; it doubles from there. */
const UNKNOWN_LENGTH_START = 16 * 1024;

/** A stream that a `preParsing` hook may have put in front of the socket (Fastify's contract). */
type BodyStream = Readable & { receivedEncodedLength?: number };

export function readBody(payload: BodyStream, contentLengthHeader: string | undefined, limit: number, done: (err: Error | null, body?: Buffer) => void): void {
  const declared = Number(contentLengthHeader);
  if (declared > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  const sized = Number.isInteger(declared) && declared >= 0;
  let buffer = Buffer.allocUnsafe(sized ? declared : UNKNOWN_LENGTH_START);
  let received = 0;

  const stop = (): void => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };

  function onData(chunk: Buffer | string): void {
    // A custom preParsing stream may still emit strings.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const total = received + bytes.length;
    if (total > limit || (payload.receivedEncodedLength ?? 0) > limit) {
      stop();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (total > buffer.length) {
      // More than declared (the length check at the end refuses it) or a body of unknown length.
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(total, buffer.length * 2)));
      buffer.copy(grown, 0, 0, received);
      buffer = grown;
    }
    bytes.copy(buffer, received);
    received = total;
  }

  function onEnd(err?: Error & { statusCode?: number }): void {
    stop();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      done(err);
      return;
    }
    if (!Number.isNaN(declared) && (payload.receivedEncodedLength || received) !== declared) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    // The body never shares memory with the socket's buffers: every chunk was copied.
    done(null, received === buffer.length ? buffer : buffer.subarray(0, received));
  }

  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
