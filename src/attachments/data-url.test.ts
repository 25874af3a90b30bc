import { describe, expect, it } from 'vitest';
import { base64Size, decodeDataUrl } from './data-url.js';

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
});
