/**
 * `/v1/files` (OpenAI's files API): upload (multipart), list, retrieve, content, delete;
 * scoped to the API key. Uploaded files are typed from their bytes like any attachment, so
 * a `file_id` part later only ever names an accepted image or document, and stored as they
 * stream in (client-files.ts).
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientFile, ClientFiles, StagedFile } from '../attachments/client-files.js';
import { ProxyError } from '../core/errors.js';

export interface FilesRouteDeps {
  files: ClientFiles;
  maxBytes: number;
}

function fileObject(f: ClientFile): Record<string, unknown> {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: Math.floor(f.createdAt / 1000),
    expires_at: Math.floor(f.expiresAt / 1000),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
  };
}

const notFound = (id: string): ProxyError => new ProxyError('not_found', `No file with id "${id.slice(0, 80)}" exists for this API key.`, { param: 'file_id' });

export async function registerFilesRoutes(app: FastifyInstance, deps: FilesRouteDeps): Promise<void> {
  // Multipart parsing only in this scope: no other route accepts multipart bodies.
  await app.register(async (scope) => {
    // One byte over the cap reaches the counting store, which refuses it while the upload streams.
    await scope.register(multipart, { limits: { fileSize: deps.maxBytes + 1, files: 1, fields: 10, fieldSize: 1024 } });
    const owner = (request: FastifyRequest): string => request.ctx.identity.id;
    for (const prefix of ['', '/v1']) {
      scope.post(`${prefix}/files`, async (request, reply) => {
        if (!request.isMultipart()) throw new ProxyError('invalid_request', 'Upload a file as multipart/form-data with a "file" field.', { param: 'file' });
        let staged: StagedFile | undefined;
        let purpose = 'user_data';
        try {
          for await (const part of request.parts()) {
            if (part.type === 'file') {
              if (part.fieldname !== 'file' || staged) {
                part.file.resume();
                continue;
              }
              // The part streams into storage: never the whole file in memory.
              staged = await deps.files.stage(owner(request), { filename: part.filename || 'file', chunks: part.file, maxBytes: deps.maxBytes, param: 'file' }).catch((err: unknown) => {
                part.file.resume(); // the rest of an oversized part is read and dropped
                throw err;
              });
              if (part.file.truncated) throw new ProxyError('attachment_too_large', `The file is over the limit of ${deps.maxBytes} bytes.`, { param: 'file' });
            } else if (part.fieldname === 'purpose' && typeof part.value === 'string' && part.value) purpose = part.value.slice(0, 64);
          }
          if (!staged) throw new ProxyError('invalid_request', 'The multipart body has no "file" field.', { param: 'file' });
          return reply.send(fileObject(await deps.files.commit(owner(request), staged, purpose)));
        } catch (err) {
          if (staged) await deps.files.discard(owner(request), staged);
          throw err;
        }
      });
      scope.get(`${prefix}/files`, async (request) => ({ object: 'list', data: (await deps.files.list(owner(request))).map(fileObject), has_more: false }));
      scope.get<{ Params: { id: string } }>(`${prefix}/files/:id`, async (request) => {
        const f = await deps.files.get(owner(request), request.params.id);
        if (!f) throw notFound(request.params.id);
        return fileObject(f);
      });
      scope.get<{ Params: { id: string } }>(`${prefix}/files/:id/content`, async (request, reply) => {
        const f = await deps.files.content(owner(request), request.params.id);
        if (!f) throw notFound(request.params.id);
        return reply.header('content-type', f.meta.mime).header('content-disposition', `attachment; filename="${f.meta.filename.replace(/["\\\r\n]/g, '_')}"`).send(f.bytes);
      });
      scope.delete<{ Params: { id: string } }>(`${prefix}/files/:id`, async (request) => {
        if (!(await deps.files.delete(owner(request), request.params.id))) throw notFound(request.params.id);
        return { id: request.params.id, object: 'file', deleted: true };
      });
    }
  });
}
