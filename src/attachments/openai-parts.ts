/**
 * OpenAI chat content parts that carry files: `image_url` (data URL or http(s) URL, `detail`
 * accepted and not needed), `file` (`file_data` with `filename`, or `file_id`), and
 * kimi-free-api's `{type:"file", file_url:{url}}`. Audio and video are refused by name.
 */
import { ProxyError } from '../core/errors.js';
import type { Attachment, AttachmentKind, AttachmentSource } from './attachment.js';
import { nameFor } from './attachment.js';
import { isDataUrl } from './data-url.js';
import { isPlaceholder } from './inline-data.js';

const AUDIO_VIDEO = new Set(['input_audio', 'audio', 'audio_url', 'video', 'video_url', 'input_video']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A URL part's source: a data URL, or an http(s) URL to fetch. */
export function urlSource(url: string, param: string): AttachmentSource {
  if (isPlaceholder(url)) return { type: 'inline', placeholder: url };
  if (isDataUrl(url)) return { type: 'data-url', url };
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw new ProxyError('attachment_url_refused', `${param}: only data: and http(s): URLs are accepted.`, { param });
}

/** base64 file data: a data URL, or bare base64 (with the part's declared type, if any). */
export function dataSource(data: string, mime?: string): AttachmentSource {
  if (isPlaceholder(data)) return { type: 'inline', placeholder: data };
  if (isDataUrl(data)) return { type: 'data-url', url: data };
  return mime ? { type: 'base64', data, mime } : { type: 'base64', data };
}

export function attachment(param: string, hint: AttachmentKind | 'any', source: AttachmentSource, counter: { n: number }, name?: string): Attachment {
  counter.n++;
  return { param, hint, source, name: name?.slice(0, 200) ?? nameFor(hint, counter.n, source.type === 'url' ? source.url : undefined) };
}

export function refuseAudioVideo(type: string, param: string): never {
  throw new ProxyError('unsupported_content', `${param}: "${type.slice(0, 40)}" parts cannot be sent to Kimi; it reads text, images and documents.`, {
    param: `${param}.type`,
  });
}

/** One non-text OpenAI chat part as an attachment, or a 400 naming it. */
export function openAIAttachment(part: unknown, param: string, counter: { n: number }): Attachment {
  const p = (part ?? {}) as Record<string, unknown>;
  const type = typeof p.type === 'string' ? p.type : undefined;
  if (type === 'image_url') {
    const image = p.image_url;
    const url = typeof image === 'string' ? image : str((image as { url?: unknown } | null)?.url);
    if (!url) throw new ProxyError('invalid_request', `${param}.image_url.url must be a data URL or an http(s) URL.`, { param: `${param}.image_url.url` });
    return attachment(param, 'image', urlSource(url, `${param}.image_url.url`), counter);
  }
  if (type === 'file') {
    const file = (p.file ?? {}) as Record<string, unknown>;
    const name = str(file.filename);
    const data = str(file.file_data);
    if (data) return attachment(param, 'any', dataSource(data), counter, name);
    const id = str(file.file_id);
    if (id) return attachment(param, 'any', { type: 'file-id', id }, counter, name);
    // kimi-free-api's form: {type:"file", file_url:{url}} (a URL or a data URL).
    const fileUrl = p.file_url;
    const url = typeof fileUrl === 'string' ? fileUrl : str((fileUrl as { url?: unknown } | null)?.url);
    if (url) return attachment(param, 'any', urlSource(url, `${param}.file_url.url`), counter, name);
    throw new ProxyError('invalid_request', `${param}.file needs file_data (with filename) or file_id.`, { param: `${param}.file` });
  }
  if (type && AUDIO_VIDEO.has(type)) refuseAudioVideo(type, param);
  const shown = type === undefined ? 'a part without a type' : `content part type "${type.slice(0, 40)}"`;
  throw new ProxyError('unsupported_content', `${param}: ${shown} cannot be forwarded to Kimi; text, image_url and file parts are supported.`, {
    param: `${param}.type`,
  });
}
