/**
 * The admin API describes itself: every admin route carries a schema (params, query, body,
 * responses, each field described), @fastify/swagger collects them into an OpenAPI 3.0
 * document, served at /admin/api/openapi.json behind the same admin access as the rest.
 *
 * The request schemas are produced from the zod schemas the handlers parse with, so the
 * document cannot drift from what is accepted. Validation stays zod's (its messages name the
 * field and the allowed values); the route schemas only describe, so this scope compiles
 * them to validators that accept anything and to serializers that write plain JSON (a
 * response schema must never drop a field the handler returns).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { VERSION } from '../../version.js';
import { answers } from './schema-parts.js';

/** A zod request schema as the JSON Schema (OpenAPI 3.0 dialect) of what a client may send. */
export const requestSchema = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

export async function registerAdminOpenApi(admin: FastifyInstance): Promise<void> {
  admin.setValidatorCompiler(() => () => true);
  admin.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Loaded only with ADMIN_TOKEN (this module runs only then).
  const { default: swagger } = await import('@fastify/swagger');
  await admin.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'kimi-proxy admin API',
        version: VERSION,
        description:
          'Accounts, API keys, conversations, the request log and statistics of one kimi-proxy deployment. ' +
          'Send ADMIN_TOKEN as a bearer token (or x-admin-token), or log in with POST /admin/api/session and send the ' +
          'session cookie plus x-csrf-token on every call other than GET/HEAD. Errors have the OpenAI error shape.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN as "Authorization: Bearer <token>".' },
          adminTokenHeader: { type: 'apiKey', in: 'header', name: 'x-admin-token', description: 'ADMIN_TOKEN in the x-admin-token header.' },
          session: { type: 'apiKey', in: 'cookie', name: 'kp_admin_session', description: 'The dashboard session cookie from POST /admin/api/session (with x-csrf-token on state-changing calls).' },
        },
      },
      security: [{ adminToken: [] }, { adminTokenHeader: [] }, { session: [] }],
    },
  });
  admin.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This document',
        description: 'The OpenAPI 3.0 description of every admin API route, generated from the route schemas.',
        tags: ['meta'],
        response: answers(200, { type: 'object', description: 'An OpenAPI 3.0 document.', additionalProperties: true }),
      },
    },
    async () => admin.swagger(),
  );
}
