import { describe, expect, it } from 'vitest';
import { base64Size, decodeBase64, decodeDataUrl } from './data-url.js';

describe('data URLs', () => {
  it('checks the decoded size from the length before decoding', () => {
    const big = `data:image/png;base64,${'A'.repeat(4000)}`;
    expect(base64Size('A'.repeat(4000))).toBe(3000);
    expect(() => decodeDataUrl(big, 2999, 'p')).toThrow(expect.objectContaining({ code: 'attachment_too_large', param: 'p' }));
    expect(decodeDataUrl(big, 3000, 'p').bytes.byteLength).toBe(3000);
  });

  it('reads the declared type, text payloads, and refuses broken ones with 400', () => {
    expect(decodeDataUrl('data:text/plain;charset=utf-8,caf%C3%A9', 100, 'p')).toEqual({ bytes: Buffer.from('café'), mime: 'text/plain' });
    expect(() => decodeDataUrl('data:text/plain,%E0%A4%A', 100, 'p')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => decodeDataUrl('data:image/png;base64', 100, 'p')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => decodeDataUrl('data:image/png;base64,@@', 100, 'p')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('decodes base64 with or without padding and whitespace, and refuses any character outside the alphabet', () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
    for (const n of [298, 299, 300]) {
      const b64 = bytes.subarray(0, n).toString('base64');
      expect(decodeBase64(b64, 1000, 'p')).toEqual(bytes.subarray(0, n));
      expect(decodeBase64(b64.replace(/=+$/, ''), 1000, 'p')).toEqual(bytes.subarray(0, n));
      expect(decodeBase64(b64.replace(/(.{76})/g, '$1\r\n'), 1000, 'p')).toEqual(bytes.subarray(0, n));
      expect(decodeBase64(bytes.subarray(0, n).toString('base64url'), 1000, 'p')).toEqual(bytes.subarray(0, n));
      // One stray character anywhere, whatever the padding, is a 400 and never a silently shorter file.
      for (const at of [0, 57, b64.length - 3]) {
        for (const bad of ['@', '.', '!', '*']) {
          const broken = `${b64.slice(0, at)}${bad}${b64.slice(at + 1)}`;
          expect(() => decodeBase64(broken, 1000, 'p'), `${bad} at ${at} of ${n}`).toThrow(expect.objectContaining({ code: 'invalid_request' }));
        }
      }
    }
    expect(() => decodeBase64('QUJD=A==', 1000, 'p')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});
