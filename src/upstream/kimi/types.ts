import type { ChatEvent } from '../../core/chat-event.js';
import type { UpstreamModel } from './model-mapping.js';

export type KimiProtocol = 'rest' | 'connect';

/** What the upstream layer needs to know about the account a request runs on. */
export interface AccountCredentials {
  /** Stable account id (never the token). */
  accountId: string;
  /** Access token sent as `Authorization: Bearer`. */
  accessToken: string;
  /** Stable 19-digit device id per account (spec 1.3), not a new one per process start. */
  deviceId: string;
  /** 19-digit session id (spec 1.3). */
  sessionId: string;
  /** Kimi user id (`sub` of the JWT) when known; sent as `X-Traffic-Id`. */
  userId?: string;
}

/** A file to attach to the turn: the bytes the client sent, checked and typed by the proxy. */
export interface UpstreamFile {
  name: string;
  /** The sniffed MIME type. */
  mime: string;
  kind: 'image' | 'document';
  bytes: Buffer;
  /** Hex SHA-256 of `bytes`: the upload cache key (with the account). */
  sha256: string;
}

/**
 * A file of an earlier turn, kept by the conversation: its bytes are read only when the
 * serving account has no upload of them yet (a migration to another account).
 */
export interface KeptFile extends Omit<UpstreamFile, 'bytes'> {
  /** The bytes, or undefined when they are no longer kept. */
  load(): Promise<Buffer | undefined>;
}

/** A file Kimi holds for one account, ready to be referenced from a message. */
export interface KimiFileRef {
  id: string;
  name: string;
  size: number;
  kind: 'image' | 'document';
}

/** One turn to send upstream. Everything above the upstream layer speaks only this. */
export interface UpstreamChatRequest {
  /** The text of the single user message sent upstream. */
  text: string;
  model: UpstreamModel;
  /** Continue this upstream chat; absent = create a new chat. */
  chatId?: string;
  /** Connect: the assistant message to branch from (`message.parent_id`). */
  parentId?: string;
  /** REST: continue the reply segment cut by the length limit (`segment_id` + `action: continue`). */
  continueSegmentId?: string;
  /** Files to attach to this message: uploaded (or found in the upload cache) on the account serving the turn. */
  files?: Array<UpstreamFile | KeptFile>;
}

export interface UpstreamCallContext {
  credentials: AccountCredentials;
  /** Aborted when the client disconnects or a timeout fires: the upstream request must stop at once. */
  signal: AbortSignal;
}

export interface UpstreamAccountInfo {
  userId?: string;
  name?: string;
  status?: string;
}

/** A model as the upstream's live catalog describes it (Connect `GetAvailableModels`). */
export interface UpstreamCatalogModel {
  id: string;
  key?: string;
  scenario: string;
  displayName?: string;
  description?: string;
  thinking?: boolean;
  kimiPlusId?: string;
  agentMode?: string;
  reasoningEffortOptions: string[];
  defaultReasoningEffort?: string;
  /** The entry has a real catalog `id` (2026-09 shape), to be sent as `options.model`. */
  hasCatalogId?: boolean;
}

export interface UpstreamCatalog {
  models: UpstreamCatalogModel[];
  defaultModelId?: string;
}

/**
 * One Kimi protocol generation. `chat` resolves once the upstream accepted the request
 * (HTTP status OK, stream open) and rejects with a typed `ProxyError` otherwise; the
 * returned iterable yields decoded events and throws `ProxyError` on in-stream failures,
 * timeouts, truncation or a stream that ends without its end marker.
 */
export interface KimiProtocolClient {
  readonly protocol: KimiProtocol;
  chat(request: UpstreamChatRequest, ctx: UpstreamCallContext): Promise<AsyncIterable<ChatEvent>>;
  deleteChat(chatId: string, ctx: UpstreamCallContext): Promise<void>;
  /** Validates the account (user / subscription call). */
  checkAccount(ctx: UpstreamCallContext): Promise<UpstreamAccountInfo>;
  /** Connect only: the live model catalog. */
  listModels?(ctx: UpstreamCallContext): Promise<UpstreamCatalog>;
}
