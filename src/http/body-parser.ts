/**
 * Request bodies are JSON whatever content type the client sends (clients differ: some send
 * none, some `text/plain`). An empty body is `undefined`; the route says whether it needs one.
 */
import { isAscii } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../core/errors.js';
import { readBody } from './body-reader.js';

/**
 * The body's text. An ASCII body (most are, JSON escapes aside: every base64 image is) is
 * copied as Latin-1, which gives the same text as UTF-8 without decoding it, and a multi-MiB
 * data URL costs a copy instead of a full UTF-8 decode.
 */
export function bodyText(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : body.toString('utf8');
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    readBody(payload, request.headers['content-length'], request.routeOptions.bodyLimit, (err, body) => {
      if (err) return done(err, undefined);
      const text = bodyText(body!);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new ProxyError('invalid_json', 'The request body is not valid JSON.'), undefined);
      }
    });
  });
}
