/** Kimi's legacy REST + SSE protocol (spec A): create chat, completion stream, delete chat. */
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import { withTimeout } from '../../../core/signals.js';
import type { FileUploads } from '../files/uploads.js';
import type { KimiHttp } from '../http.js';
import type { KimiFileRef, KimiProtocolClient, UpstreamAccountInfo, UpstreamCallContext, UpstreamChatRequest } from '../types.js';
import { wrapUrls } from '../wrap-urls.js';
import { decodeRestSse } from './decode.js';
import { legacyRefs, uploadLegacyFile } from './files.js';

export interface RestClientOptions {
  onUnknownEvent?: (name: string) => void;
  /** Attachments: without it a request carrying files is refused. */
  uploads?: FileUploads;
}

export class RestSseClient implements KimiProtocolClient {
  readonly protocol = 'rest' as const;

  constructor(
    private readonly http: KimiHttp,
    private readonly opts: RestClientOptions = {},
  ) {}

  async chat(req: UpstreamChatRequest, ctx: UpstreamCallContext): Promise<AsyncIterable<ChatEvent>> {
    const created = !req.chatId;
    const chatId = req.chatId ?? (await this.createChat(ctx));
    try {
      // Documents are registered with the chat they belong to (spec A.10 step 3), so the chat comes first.
      const refs = req.files?.length ? await this.upload(req, chatId, ctx) : [];
      const res = await this.http.send(
        {
          method: 'POST',
          path: `/api/chat/${encodeURIComponent(chatId)}/completion/stream`,
          body: JSON.stringify(completionBody(req, refs)),
          contentType: 'application/json',
          extraHeaders: { referer: `${this.http.baseUrl}/chat/${chatId}`, accept: 'text/event-stream' },
          protocol: 'rest',
        },
        ctx,
      );
      // The chat id is known before the stream starts; announce it first so the relay can bind or clean up.
      return decodeRestSse(res.body, { onUnknownEvent: this.opts.onUnknownEvent, leading: [{ type: 'meta', chatId }] });
    } catch (err) {
      // A chat we created for a reply that never started is junk in the user's history.
      if (created && !ctx.signal.aborted) void withTimeout(10_000, (signal) => this.deleteChat(chatId, { ...ctx, signal })).catch(() => undefined);
      throw err;
    }
  }

  private upload(req: UpstreamChatRequest, chatId: string, ctx: UpstreamCallContext): Promise<KimiFileRef[]> {
    const uploads = this.opts.uploads;
    if (!uploads) throw new ProxyError('unsupported_content', 'This proxy was built without attachment uploads.');
    return uploads.ensure(req.files ?? [], ctx, (file, wait, c) => uploadLegacyFile(this.http, file, chatId, wait, c));
  }

  private async createChat(ctx: UpstreamCallContext): Promise<string> {
    // 2025 www.kimi.com body (spec A.3).
    const body = { name: '未命名会话', born_from: 'home', kimiplus_id: 'kimi', is_example: false, source: 'web', tags: [] };
    const res = await this.http.json({ method: 'POST', path: '/api/chat', body: JSON.stringify(body), protocol: 'rest' }, ctx);
    const id = (res as { id?: unknown }).id;
    if (typeof id !== 'string' || id === '') throw new ProxyError('upstream_protocol_error', 'Kimi created a chat but returned no chat id.');
    return id;
  }

  async deleteChat(chatId: string, ctx: UpstreamCallContext): Promise<void> {
    await this.http.json({ method: 'DELETE', path: `/api/chat/${encodeURIComponent(chatId)}`, protocol: 'rest' }, ctx);
  }

  async checkAccount(ctx: UpstreamCallContext): Promise<UpstreamAccountInfo> {
    const res = (await this.http.json({ method: 'GET', path: '/api/user', protocol: 'rest' }, ctx)) as Record<string, unknown>;
    const info: UpstreamAccountInfo = {};
    if (typeof res.id === 'string') info.userId = res.id;
    if (typeof res.name === 'string') info.name = res.name;
    if (typeof res.status === 'string') info.status = res.status;
    return info;
  }
}

/** Completion body, 2025 www.kimi.com shape (spec A.4); continuation per the `length` example. */
function completionBody(req: UpstreamChatRequest, files: readonly KimiFileRef[]): Record<string, unknown> {
  const rest = req.model.rest;
  if (!rest) throw new ProxyError('model_not_found', `Model "${req.model.requestedId}" is not available on the REST protocol.`, { param: 'model' });
  const model = req.model.thinking && rest.thinkingModel ? rest.thinkingModel : rest.model;
  const common = { kimiplus_id: rest.kimiplusId, model, use_search: req.model.search, ...(files.length > 0 ? legacyRefs(files) : { refs: [] }), extend: { sidebar: true } };
  if (req.continueSegmentId) {
    return { segment_id: req.continueSegmentId, action: 'continue', messages: [{ role: 'user', content: ' ' }], ...common };
  }
  return {
    messages: [{ role: 'user', content: wrapUrls(req.text) }],
    history: [],
    ...common,
    scene_labels: [],
    use_deep_research: false,
    use_semantic_memory: false,
  };
}
