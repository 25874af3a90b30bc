/** The settings of images and documents (docs/attachments.md): size caps, parse waits, URL fetching, /v1/files. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { expected, int, list } from './env-values.js';

/** Addresses or CIDR ranges (`127.0.0.1`, `10.0.0.0/8`, `::1`). */
const addressList = list.transform((entries, ctx) => {
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const version = isIP(addr ?? '');
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
    if (version === 0 || !okBits) {
      ctx.addIssue({ code: 'custom', message: expected('IP addresses or CIDR ranges (127.0.0.1, 10.0.0.0/8, ::1)', entry) });
      return z.NEVER;
    }
  }
  return entries;
});

export const attachmentSettings = {
  ATTACHMENT_IMAGE_MAX_BYTES: int(20 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  ATTACHMENT_DOCUMENT_MAX_BYTES: int(100 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  ATTACHMENTS_PER_MESSAGE: int(20, 1, 500),
  ATTACHMENT_REQUEST_MAX_BYTES: int(200 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
  ATTACHMENT_IMAGE_PARSE_MS: int(15_000, 100, 600_000),
  ATTACHMENT_DOCUMENT_PARSE_MS: int(120_000, 100, 3_600_000),
  ATTACHMENT_UPLOADS_PER_ACCOUNT: int(3, 1, 100),
  ATTACHMENT_CACHE_TTL_MS: int(86_400_000, 60_000, 30 * 86_400_000),
  ATTACHMENT_FETCH_TIMEOUT_MS: int(60_000, 100, 600_000),
  ATTACHMENT_URL_ALLOW: addressList,
  FILES_MAX_BYTES: int(50 * 1024 * 1024, 1024, 512 * 1024 * 1024),
  FILES_TTL_MS: int(7 * 86_400_000, 60_000, 365 * 86_400_000),
};
