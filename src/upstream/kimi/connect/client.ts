/** Kimi's Connect-RPC protocol under /apiv2 (spec B): Chat stream, DeleteChat, GetSubscription, GetAvailableModels. */
import type { ChatEvent } from '../../../core/chat-event.js';
import { ProxyError } from '../../../core/errors.js';
import type { FileUploads } from '../files/uploads.js';
import type { KimiHttp } from '../http.js';
import type {
  KimiFileRef,
  KimiProtocolClient,
  UpstreamAccountInfo,
  UpstreamCallContext,
  UpstreamCatalog,
  UpstreamChatRequest,
} from '../types.js';
import { wrapUrls } from '../wrap-urls.js';
import { decodeConnectChat } from './decode.js';
import { encodeJsonEnvelope } from './envelope.js';
import { parseCatalog } from './catalog.js';
import { fileBlocks, uploadConnectFile } from './files.js';

/** Spec F.1: both package names are seen for Chat; try the configured one first. */
const CHAT_PATHS = ['kimi.gateway.chat.v1.ChatService/Chat', 'kimi.chat.v1.ChatService/Chat'];
const DELETE_PATHS = ['kimi.chat.v1.ChatService/DeleteChat', 'kimi.gateway.chat.v1.ChatService/DeleteChat'];
const SUBSCRIPTION_PATH = 'kimi.gateway.order.v1.SubscriptionService/GetSubscription';
export const MODELS_PATH = 'kimi.gateway.config.v1.ConfigService/GetAvailableModels';

export interface ConnectClientOptions {
  chatPath?: string;
  onUnknownMask?: (mask: string) => void;
  /** Largest Connect frame read (default DEFAULT_MAX_PAYLOAD_BYTES); see frameLimitFor. */
  maxFrameBytes?: number;
  /** Attachments: without it a request carrying files is refused. */
  uploads?: FileUploads;
}

export class ConnectClient implements KimiProtocolClient {
  readonly protocol = 'connect' as const;
  /** Paths in the order to try; the one that answered last moves to the front (remembered per app). */
  private chatPaths: string[];
  private deletePaths = [...DELETE_PATHS];

  constructor(
    private readonly http: KimiHttp,
    private readonly opts: ConnectClientOptions = {},
  ) {
    const first = opts.chatPath ?? CHAT_PATHS[0]!;
    this.chatPaths = [first, ...CHAT_PATHS.filter((p) => p !== first)];
  }

  /** The Chat path in use (the first that did not answer 404). */
  get chatPath(): string {
    return this.chatPaths[0]!;
  }

  async chat(req: UpstreamChatRequest, ctx: UpstreamCallContext): Promise<AsyncIterable<ChatEvent>> {
    const refs = req.files?.length ? await this.upload(req, ctx) : [];
    const body = encodeJsonEnvelope(chatRequestBody(req, refs));
    for (const path of [...this.chatPaths]) {
      const res = await this.http.send(
        {
          method: 'POST',
          path: `/apiv2/${path}`,
          body,
          contentType: 'application/connect+json',
          extraHeaders: { accept: 'application/connect+json' },
          protocol: 'connect',
          allowNotFound: true,
        },
        ctx,
      );
      if (res.status === 404) continue;
      this.remember(this.chatPaths, path);
      return decodeConnectChat(res.body, { onUnknownMask: this.opts.onUnknownMask, maxPayloadBytes: this.opts.maxFrameBytes });
    }
    throw new ProxyError('upstream_http_error', 'Kimi answered 404 on every known ChatService/Chat path; the protocol may have changed.', {
      upstreamCode: 'chat_path_not_found',
    });
  }

  private upload(req: UpstreamChatRequest, ctx: UpstreamCallContext): Promise<KimiFileRef[]> {
    const uploads = this.opts.uploads;
    if (!uploads) throw new ProxyError('unsupported_content', 'This proxy was built without attachment uploads.');
    return uploads.ensure(req.files ?? [], ctx, (file, wait, c) => uploadConnectFile(this.http, file, wait, c));
  }

  async deleteChat(chatId: string, ctx: UpstreamCallContext): Promise<void> {
    for (const path of [...this.deletePaths]) {
      const res = await this.http.send(
        { method: 'POST', path: `/apiv2/${path}`, body: JSON.stringify({ chat_id: chatId }), contentType: 'application/json', protocol: 'connect', allowNotFound: true },
        ctx,
      );
      for await (const _ of res.body) {
        // drain
      }
      if (res.status !== 404) {
        this.remember(this.deletePaths, path);
        return;
      }
    }
    throw new ProxyError('upstream_chat_not_found', 'Kimi could not find the chat to delete.');
  }

  async checkAccount(ctx: UpstreamCallContext): Promise<UpstreamAccountInfo> {
    const res = (await this.http.json({ method: 'POST', path: `/apiv2/${SUBSCRIPTION_PATH}`, body: '{}', protocol: 'connect' }, ctx)) as {
      subscription?: { userId?: unknown; userName?: unknown };
    };
    const sub = res.subscription;
    if (!sub || typeof sub !== 'object') throw new ProxyError('upstream_unauthenticated', 'Kimi returned no subscription for this account.');
    const info: UpstreamAccountInfo = { status: 'normal' };
    if (typeof sub.userId === 'string') info.userId = sub.userId;
    if (typeof sub.userName === 'string') info.name = sub.userName;
    return info;
  }

  async listModels(ctx: UpstreamCallContext): Promise<UpstreamCatalog> {
    const res = await this.http.json({ method: 'POST', path: `/apiv2/${MODELS_PATH}`, body: '{}', protocol: 'connect' }, ctx);
    return parseCatalog(res);
  }

  private remember(paths: string[], path: string): void {
    const i = paths.indexOf(path);
    if (i > 0) {
      paths.splice(i, 1);
      paths.unshift(path);
    }
  }
}

/** The ChatRequest of spec B.4. Ids are omitted when empty (the safer form per the spec's conflict note). */
export function chatRequestBody(req: UpstreamChatRequest, files: readonly KimiFileRef[] = []): Record<string, unknown> {
  const c = req.model.connect;
  if (!c) throw new ProxyError('model_not_found', `Model "${req.model.requestedId}" is not available on the Connect protocol.`, { param: 'model' });
  const message: Record<string, unknown> = {
    role: 'user',
    blocks: [{ message_id: '', text: { content: wrapUrls(req.text) } }, ...fileBlocks(files)],
    scenario: c.scenario,
  };
  if (req.parentId) message.parent_id = req.parentId;
  const options: Record<string, unknown> = { thinking: req.model.thinking };
  const body: Record<string, unknown> = {
    scenario: c.scenario,
    tools: req.model.search ? [{ type: 'TOOL_TYPE_SEARCH', search: {} }] : [],
    message,
    options,
  };
  if (req.chatId) body.chat_id = req.chatId;
  if (c.model) {
    // 2026-09 web UI shape ([U2]): catalog id in options.model, plus these fields.
    options.model = c.model;
    options.enable_plugin = true;
    message.is_goal = false;
    body.project_id = '';
  }
  if (req.model.reasoningEffort) options.reasoning_effort = req.model.reasoningEffort;
  if (c.kimiPlusId) body.kimiplus_id = c.kimiPlusId;
  if (c.agentMode) body.agent_mode = c.agentMode;
  return body;
}
