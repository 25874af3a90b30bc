/**
 * The file-carrying parts of the Responses and Anthropic doors, as neutral attachments:
 * Responses `input_image` (`image_url` URL or data URL, `file_id`) and `input_file`
 * (`file_data`, `file_url`, `file_id`, `filename`); Anthropic `image` and `document` blocks
 * with `base64`, `url` and `text` sources (`title` names a document). Audio is refused by name.
 */
import { ProxyError } from '../core/errors.js';
import type { Attachment } from './attachment.js';
import { attachment, dataSource, openAIAttachment, refuseAudioVideo, urlSource } from './openai-parts.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A Responses content part that carries a file, or undefined when it is not one (text, refusal). */
export function responsesAttachment(part: unknown, param: string, counter: { n: number }): Attachment | undefined {
  const p = (part ?? {}) as Record<string, unknown>;
  const type = str(p.type) ?? '';
  if (type === 'input_image') {
    const url = str(p.image_url);
    if (url) return attachment(param, 'image', urlSource(url, `${param}.image_url`), counter);
    const id = str(p.file_id);
    if (id) return attachment(param, 'image', { type: 'file-id', id }, counter);
    throw new ProxyError('invalid_request', `${param} needs image_url or file_id.`, { param });
  }
  if (type === 'input_file') {
    const name = str(p.filename);
    const data = str(p.file_data);
    if (data) return attachment(param, 'any', dataSource(data), counter, name);
    const url = str(p.file_url);
    if (url) return attachment(param, 'any', urlSource(url, `${param}.file_url`), counter, name);
    const id = str(p.file_id);
    if (id) return attachment(param, 'any', { type: 'file-id', id }, counter, name);
    throw new ProxyError('invalid_request', `${param} needs file_data, file_url or file_id.`, { param });
  }
  if (type === 'image_url' || type === 'file' || type === 'input_audio' || type === 'input_video') return openAIAttachment(part, param, counter);
  return undefined;
}

/** An Anthropic `image` or `document` block as an attachment. */
export function anthropicAttachment(block: unknown, param: string, counter: { n: number }): Attachment {
  const b = (block ?? {}) as Record<string, unknown>;
  const type = str(b.type) ?? '';
  if (type !== 'image' && type !== 'document') refuseAudioVideo(type, param);
  const hint = type === 'image' ? 'image' : 'any';
  const source = (b.source ?? {}) as Record<string, unknown>;
  const name = type === 'document' ? str(b.title) : undefined;
  const sourceParam = `${param}.source`;
  switch (source.type) {
    case 'base64': {
      const data = str(source.data);
      if (!data) throw new ProxyError('invalid_request', `${sourceParam}.data must be base64 text.`, { param: `${sourceParam}.data` });
      const mime = str(source.media_type);
      return attachment(param, hint, mime ? { type: 'base64', data, mime } : { type: 'base64', data }, counter, name);
    }
    case 'url': {
      const url = str(source.url);
      if (!url) throw new ProxyError('invalid_request', `${sourceParam}.url must be a URL.`, { param: `${sourceParam}.url` });
      return attachment(param, hint, urlSource(url, `${sourceParam}.url`), counter, name);
    }
    case 'text': {
      if (type !== 'document') break;
      const text = typeof source.data === 'string' ? source.data : '';
      const mime = str(source.media_type) ?? 'text/plain';
      return attachment(param, 'document', { type: 'text', text, mime }, counter, name ?? `document-${counter.n + 1}.txt`);
    }
    case 'file': {
      const id = str(source.file_id);
      if (id) return attachment(param, hint, { type: 'file-id', id }, counter, name);
      break;
    }
  }
  throw new ProxyError('invalid_request', `${sourceParam}.type must be base64, url${type === 'document' ? ', text' : ''} or file.`, { param: `${sourceParam}.type` });
}
