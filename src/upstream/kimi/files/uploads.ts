/**
 * Getting a turn's files onto the Kimi account that serves it, whichever protocol uploads
 * them: the per-account cache (the same bytes are uploaded once per account), retries on
 * 5xx and socket errors, a bounded wait for Kimi's parse, a cap on concurrent uploads per
 * account, and one error (`attachment_failed`, 422) that names the file.
 */
import type { Clock } from '../../../core/clock.js';
import { ProxyError, isProxyError, type ErrorCode } from '../../../core/errors.js';
import type { KeptFile, KimiFileRef, UpstreamCallContext, UpstreamFile } from '../types.js';

/** `(account, sha256) → Kimi file id`, shared by every instance using the store. */
export interface UploadCache {
  get(accountId: string, sha256: string): Promise<KimiFileRef | undefined>;
  set(accountId: string, sha256: string, ref: KimiFileRef): Promise<void>;
}

export interface UploadPolicy {
  /** Longest wait for an image's parse. */
  imageParseMs: number;
  /** Longest wait for a document's parse. */
  documentParseMs: number;
  /** Further attempts after an upload failed with a 5xx or a socket error. */
  retries: number;
  /** Uploads running at once on one account (this process). */
  perAccountConcurrency: number;
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = { imageParseMs: 15_000, documentParseMs: 120_000, retries: 2, perAccountConcurrency: 3 };

/** Answer of one parse-status check. */
export type ParseCheck = { state: 'done' } | { state: 'pending' } | { state: 'failed'; reason?: string };

/** Polls a parse with backoff (300 ms growing to 1 s) until it ends or the file's deadline passes. */
export class ParseWait {
  private readonly deadline: number;

  constructor(
    private readonly clock: Clock,
    private readonly file: UpstreamFile,
    private readonly limitMs: number,
    private readonly signal: AbortSignal,
  ) {
    this.deadline = clock.now() + limitMs;
  }

  get abortSignal(): AbortSignal {
    return this.signal;
  }

  /** Milliseconds left before the parse deadline (for a server-side wait such as `timeout`). */
  get remainingMs(): number {
    return Math.max(0, this.deadline - this.clock.now());
  }

  async until(check: () => Promise<ParseCheck>): Promise<void> {
    let delay = 300;
    for (;;) {
      const answer = await check();
      if (answer.state === 'done') return;
      if (answer.state === 'failed') throw attachmentFailed(this.file, answer.reason ?? 'Kimi could not parse it');
      if (this.clock.now() + delay > this.deadline) {
        throw attachmentFailed(this.file, `Kimi was still parsing it after ${Math.round(this.limitMs / 1000)} s`);
      }
      await this.clock.sleep(delay, this.signal);
      delay = Math.min(1_000, Math.round(delay * 1.5));
    }
  }
}

/** The protocol's own upload of one file (with its parse wait). */
export type UploadOne = (file: UpstreamFile, wait: ParseWait, ctx: UpstreamCallContext) => Promise<KimiFileRef>;

export function attachmentFailed(file: Pick<UpstreamFile, 'name'>, reason: string, cause?: unknown): ProxyError {
  return new ProxyError('attachment_failed', `Kimi did not accept the attachment "${file.name}": ${reason}.`, cause === undefined ? {} : { cause });
}

/** Failures worth another attempt at the same upload: Kimi's 5xx, socket errors, timeouts. */
const RETRIED: ReadonlySet<ErrorCode> = new Set(['upstream_http_error', 'upstream_overloaded', 'upstream_network_error', 'upstream_timeout']);

/** A counting gate per account: at most `limit` uploads at once. */
class AccountGates {
  private readonly active = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly limit: number) {}

  async run<T>(accountId: string, work: () => Promise<T>): Promise<T> {
    let gate = this.active.get(accountId);
    if (!gate) this.active.set(accountId, (gate = { running: 0, waiting: [] }));
    if (gate.running >= this.limit) await new Promise<void>((resolve) => gate.waiting.push(resolve));
    gate.running++;
    try {
      return await work();
    } finally {
      gate.running--;
      const next = gate.waiting.shift();
      if (next) next();
      else if (gate.running === 0) this.active.delete(accountId);
    }
  }
}

export interface FileUploadsOptions {
  clock: Clock;
  cache: UploadCache;
  policy?: Partial<UploadPolicy>;
}

export class FileUploads {
  private readonly policy: UploadPolicy;
  private readonly gates: AccountGates;

  constructor(private readonly opts: FileUploadsOptions) {
    this.policy = { ...DEFAULT_UPLOAD_POLICY, ...opts.policy };
    this.gates = new AccountGates(this.policy.perAccountConcurrency);
  }

  /** The Kimi references of `files` on the context's account, in order; each distinct file uploaded at most once. */
  async ensure(files: ReadonlyArray<UpstreamFile | KeptFile>, ctx: UpstreamCallContext, upload: UploadOne): Promise<KimiFileRef[]> {
    const accountId = ctx.credentials.accountId;
    const refs: KimiFileRef[] = [];
    const done = new Map<string, KimiFileRef>();
    for (const file of files) {
      const ref = done.get(file.sha256) ?? (await this.one(file, accountId, ctx, upload));
      // A kept file whose bytes are gone is left out; its marker stays in the text.
      if (!ref) continue;
      done.set(file.sha256, ref);
      // The same bytes under another name are still one Kimi file; the message names it as sent.
      refs.push(ref.name === file.name ? ref : { ...ref, name: file.name });
    }
    return refs;
  }

  private async one(file: UpstreamFile | KeptFile, accountId: string, ctx: UpstreamCallContext, upload: UploadOne): Promise<KimiFileRef | undefined> {
    const cached = await this.opts.cache.get(accountId, file.sha256);
    if (cached) return cached;
    const bytes = 'bytes' in file ? file.bytes : await file.load();
    if (!bytes) return undefined;
    const ready: UpstreamFile = { name: file.name, mime: file.mime, kind: file.kind, sha256: file.sha256, bytes };
    const ref = await this.gates.run(accountId, () => this.withRetries(ready, ctx, upload));
    await this.opts.cache.set(accountId, file.sha256, ref);
    return ref;
  }

  private async withRetries(file: UpstreamFile, ctx: UpstreamCallContext, upload: UploadOne): Promise<KimiFileRef> {
    const { clock } = this.opts;
    for (let attempt = 0; ; attempt++) {
      const waitMs = file.kind === 'image' ? this.policy.imageParseMs : this.policy.documentParseMs;
      const wait = new ParseWait(clock, file, waitMs, ctx.signal);
      try {
        return await upload(file, wait, ctx);
      } catch (err) {
        ctx.signal.throwIfAborted();
        if (!isProxyError(err) || !RETRIED.has(err.code)) throw err;
        if (attempt >= this.policy.retries) throw attachmentFailed(file, `the upload failed ${attempt + 1} times (${err.message})`, err);
        await clock.sleep(250 * 2 ** attempt, ctx.signal);
      }
    }
  }
}
