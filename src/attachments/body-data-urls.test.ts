import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { takeDataUrls } from './body-data-urls.js';
import { isPlaceholder, withDataUrls } from './inline-data.js';

const OPTS = { minPayload: 1024, maxDecoded: 1_000_000 };
const file = (n: number, seed = 1): Buffer => {
  const b = randomBytes(n);
  b[0] = seed;
  return b;
};
const url = (b: Buffer, header = 'image/png;base64'): string => `data:${header},${b.toString('base64')}`;
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Takes, parses, and answers the parsed value and the table (the way the body parser does). */
function take(value: unknown, opts = OPTS) {
  const taken = takeDataUrls(body(value), opts);
  return taken && { parsed: JSON.parse(taken.json.toString('utf8')) as any, inline: taken.inline };
}

describe('taking large data URLs out of a JSON body', () => {
  it('decodes each attachment field’s data URL exactly and leaves a placeholder in the same place', () => {
    const a = file(3000, 1);
    const b = file(5000, 2);
    const c = file(4001, 3);
    const value = {
      model: 'k2',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: url(a) } }, { type: 'image_url', image_url: url(b, 'image/jpeg;name=x.jpg;base64') }] }],
      input: [{ type: 'input_file', file_data: url(c, 'application/pdf;base64'), filename: 'c.pdf' }],
    };
    const { parsed, inline } = take(value)!;
    const first = parsed.messages[0].content[1].image_url.url;
    const second = parsed.messages[0].content[2].image_url;
    const third = parsed.input[0].file_data;
    for (const p of [first, second, third]) expect(isPlaceholder(p)).toBe(true);
    expect(inline.get(first)).toMatchObject({ mime: 'image/png', sha256: sha(a) });
    expect(inline.get(first)!.bytes.equals(a)).toBe(true);
    expect(inline.get(second)).toMatchObject({ mime: 'image/jpeg', header: 'image/jpeg;name=x.jpg;base64' });
    expect(inline.get(second)!.bytes.equals(b)).toBe(true);
    expect(inline.get(third)!.bytes.equals(c)).toBe(true);
    // Everything else is as sent, and the data URLs come back exactly.
    expect(withDataUrls(parsed, inline)).toEqual(value);
  });

  it('the same image is the same placeholder in every body; different images never are', () => {
    const a = file(3000, 1);
    const one = take({ image_url: url(a) })!.parsed.image_url;
    const again = take({ x: 1, image_url: url(a) })!.parsed.image_url;
    const other = take({ image_url: url(file(3000, 1)) })!.parsed.image_url;
    expect(one).toBe(again);
    expect(other).not.toBe(one);
  });

  it('keeps non-ASCII text around a data URL intact', () => {
    const a = file(3000);
    const value = { text: '你好，世界 👩🏽‍💻 "q" \\ é', file_url: { url: url(a) }, after: 'ﾃｽﾄ ✓' };
    const { parsed, inline } = take(value)!;
    expect(parsed.text).toBe(value.text);
    expect(parsed.after).toBe(value.after);
    expect(inline.get(parsed.file_url.url)!.bytes.equals(a)).toBe(true);
  });

  it('leaves a "data: inside another string, and data URLs outside attachment fields, as text', () => {
    const a = url(file(3000));
    expect(takeDataUrls(body({ text: `look: "${a}"` }), OPTS)).toBeUndefined();
    expect(takeDataUrls(body({ text: `\\"${a}` }), OPTS)).toBeUndefined();
    expect(takeDataUrls(body({ content: a, data: a, url: [a] }), OPTS)).toBeUndefined();
  });

  it('an escaped backslash before the quote does not hide a data URL', () => {
    const a = file(3000);
    const { parsed, inline } = take({ text: 'ends with \\', url: url(a) })!;
    expect(parsed.text).toBe('ends with \\');
    expect(inline.get(parsed.url)!.bytes.equals(a)).toBe(true);
  });

  it('leaves payloads that are not canonical base64 to the usual decoder', () => {
    const b64 = file(3000).toString('base64');
    const cases = [
      `data:image/png;base64,${b64.replace(/(.{76})/g, '$1\n')}`, // line breaks (escaped \n in JSON)
      `data:image/png;base64,${b64.slice(0, 100)}*${b64.slice(101)}`, // a stray character
      `data:image/png;base64,${b64.slice(0, -1)}`, // a length that is not a multiple of 4
      `data:image/png;base64,${b64.replaceAll('/', '_').replaceAll('+', '-')}`, // the URL-safe alphabet
      `data:image/png;base64,${b64.slice(0, -4)}AAB=`, // stray bits in the last group
      `data:image/png,${b64}`, // not base64 at all
      `data:image/png;base64;x="y",${b64}`, // a header with a quote
    ];
    for (const u of cases) expect(takeDataUrls(body({ url: u }), OPTS), u.slice(0, 40)).toBeUndefined();
    // `\/` escapes (some JSON encoders write them) reach the decoder as a backslash.
    expect(takeDataUrls(Buffer.from(`{"url":"data:image/png;base64,${b64.replaceAll('/', '\\/')}"}`), OPTS)).toBeUndefined();
  });

  it('takes only payloads of at least minPayload characters and at most maxDecoded bytes', () => {
    expect(takeDataUrls(body({ url: url(file(700)) }), OPTS)).toBeUndefined();
    expect(takeDataUrls(body({ url: url(file(3000)) }), { minPayload: 1024, maxDecoded: 2999 })).toBeUndefined();
    expect(takeDataUrls(body({ url: url(file(3000)) }), { minPayload: 1024, maxDecoded: 3000 })).toBeDefined();
  });

  it('decodes payloads longer than one slice', () => {
    const big = file(3 * 1024 * 1024 + 7);
    const { parsed, inline } = take({ url: url(big) }, { minPayload: 1024, maxDecoded: 4 * 1024 * 1024 })!;
    expect(inline.get(parsed.url)!.bytes.equals(big)).toBe(true);
  });

  it('leaves the body exactly as it was when a payload turns out not to be clean after slices were decoded', () => {
    const b64 = file(3 * 1024 * 1024).toString('base64');
    const opts = { minPayload: 1024, maxDecoded: 4 * 1024 * 1024 };
    for (const at of [10, 1024 * 1024 + 5, 2 * 1024 * 1024 + 3, b64.length - 8]) {
      const text = JSON.stringify({ url: `data:image/png;base64,${b64.slice(0, at)}*${b64.slice(at + 1)}`, image_url: url(file(3000)) });
      const original = Buffer.from(text);
      const work = Buffer.from(text);
      const taken = takeDataUrls(work, opts)!;
      // The broken one stays as sent (the usual decoder refuses it); the clean one after it is taken.
      const parsed = JSON.parse(taken.json.toString());
      expect(parsed.url).toBe(JSON.parse(text).url);
      expect(isPlaceholder(parsed.image_url)).toBe(true);
      expect(work.subarray(0, original.indexOf('"image_url"')).equals(original.subarray(0, original.indexOf('"image_url"')))).toBe(true);
    }
  });

  it('keeps invalid JSON invalid', () => {
    const a = url(file(3000));
    for (const text of [`{"url":"${a}"`, `{"url":"${a}",}`, `{"url" "${a}"}`, `{"x":"y""url":"${a}"}`]) {
      const taken = takeDataUrls(Buffer.from(text), OPTS);
      expect(() => JSON.parse((taken?.json ?? Buffer.from(text)).toString())).toThrow();
    }
  });
});
