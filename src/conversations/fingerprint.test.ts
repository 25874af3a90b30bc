import { describe, expect, it } from 'vitest';
import { fingerprint, type FingerprintMessage } from './fingerprint.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A user turn carrying one pasted image, as a request (resolved attachment) or a transcript (stored description) holds it. */
const asRequest = (name: string, sha256: string): FingerprintMessage => ({ role: 'user', content: `look\n[image: ${name}]`, attachments: [{ file: { sha256 } }] });
const asTranscript = (name: string, sha256: string): FingerprintMessage => ({ role: 'user', content: `look\n[image: ${name}]`, attachments: [{ sha256 }] });
const reply: FingerprintMessage = { role: 'assistant', content: 'A cat.' };

describe('conversation fingerprint and attachments', () => {
  it('two different images under the same name are different histories', () => {
    expect(fingerprint([asRequest('image.png', HASH_B), reply])).not.toBe(fingerprint([asTranscript('image.png', HASH_A), reply]));
  });

  it('the same bytes under another name are the same history, request or transcript alike', () => {
    expect(fingerprint([asRequest('photo.png', HASH_A), reply])).toBe(fingerprint([asTranscript('image.png', HASH_A), reply]));
  });

  it('the order and number of attachments count', () => {
    const two = (first: string, second: string): FingerprintMessage => ({ role: 'user', content: '[image: a.png]\n[image: b.png]', attachments: [{ sha256: first }, { sha256: second }] });
    expect(fingerprint([two(HASH_A, HASH_B)])).not.toBe(fingerprint([two(HASH_B, HASH_A)]));
    expect(fingerprint([asTranscript('a.png', HASH_A)])).not.toBe(fingerprint([{ role: 'user', content: 'look\n[image: a.png]' }]));
  });

  it('text that only looks like a marker still counts by its words when the message has no attachments', () => {
    expect(fingerprint([{ role: 'user', content: '[file: one.txt]' }])).not.toBe(fingerprint([{ role: 'user', content: '[file: two.txt]' }]));
  });
});
