/**
 * Request bodies are JSON whatever content type the client sends (clients differ: some send
 * none, some `text/plain`). An empty body is `undefined`; the route says whether it needs one.
 */
import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../core/errors.js';

export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ProxyError('invalid_json', 'The request body is not valid JSON.'), undefined);
    }
  });
}
