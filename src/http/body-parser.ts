/**
 * Request bodies are JSON whatever content type the client sends (clients differ: some send
 * none, some `text/plain`). An empty body is `undefined`; the route says whether it needs one.
 *
 * A large body (over `LARGE_BODY_BYTES`) has its large base64 data URLs taken out before it
 * is parsed (attachments/body-data-urls.ts): the parsed body holds placeholders, and
 * `request.inlineData` the decoded bytes they stand for.
 */
import { isAscii } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { takeDataUrls } from '../attachments/body-data-urls.js';
import type { InlineData } from '../attachments/inline-data.js';
import { ProxyError } from '../core/errors.js';
import { readBody } from './body-reader.js';

/** Smaller bodies are parsed as they are: looking for data URLs would cost more than it saves. */
const LARGE_BODY_BYTES = 256 * 1024;
/** Smaller data URLs (in base64 characters) stay in the text. */
const LARGE_DATA_URL_CHARS = 64 * 1024;

export interface BodyParserOptions {
  /**
   * The largest attachment (the larger of the image and document caps): larger data URLs are
   * left in the text, where the attachment code refuses them. Absent = none are taken out.
   */
  inlineMaxBytes?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The data URLs taken out of this request's body, by placeholder (attachments/inline-data.ts). */
    inlineData: InlineData | undefined;
  }
}

/**
 * The body's text. An ASCII body (most are, JSON escapes aside: every base64 image is) is
 * copied as Latin-1, which gives the same text as UTF-8 without decoding it, and a multi-MiB
 * data URL costs a copy instead of a full UTF-8 decode.
 */
export function bodyText(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : body.toString('utf8');
}

export function registerJsonBodyParser(app: FastifyInstance, opts: BodyParserOptions = {}): void {
  const maxDecoded = opts.inlineMaxBytes;
  app.decorateRequest('inlineData', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    readBody(payload, request.headers['content-length'], request.routeOptions.bodyLimit, (err, body) => {
      if (err) return done(err, undefined);
      let json = body!;
      if (maxDecoded !== undefined && json.length > LARGE_BODY_BYTES) {
        const taken = takeDataUrls(json, { minPayload: LARGE_DATA_URL_CHARS, maxDecoded });
        if (taken) {
          json = taken.json;
          request.inlineData = taken.inline;
        }
      }
      const text = bodyText(json);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new ProxyError('invalid_json', 'The request body is not valid JSON.'), undefined);
      }
    });
  });
}
