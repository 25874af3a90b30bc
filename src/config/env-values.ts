/**
 * How one environment value is read: booleans, words from a list, bounded integers, lists,
 * URLs and secrets, each with the same wording of its error: `expected <what is allowed>,
 * got "<value>"` (secrets never echoed).
 */
import { z } from 'zod';
import { normalizeProxyUrl } from '../observability/proxy-url.js';

/** Every message has the same words: `expected <what is allowed>, got "<value>"`. */
export const expected = (allowed: string, value: string): string => `expected ${allowed}, got ${JSON.stringify(value)}`;

/** "a, b or c" */
const either = (values: readonly string[]): string => (values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`);

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

export const bool = (def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const word = v?.trim().toLowerCase();
      if (word === undefined || word === '') return def;
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      ctx.addIssue({ code: 'custom', message: expected('true or false', v!) });
      return z.NEVER;
    });

/** One of a fixed list of words; the message lists them all. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T[number] => {
      const word = v?.trim();
      if (word === undefined || word === '') return def;
      if ((values as readonly string[]).includes(word)) return word as T[number];
      ctx.addIssue({ code: 'custom', message: expected(either(values), v!) });
      return z.NEVER;
    });

/** An integer setting whose default depends on other settings: undefined when unset. */
export const optionalInt = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: expected(`an integer from ${min} to ${max}`, v) });
        return z.NEVER;
      }
      return n;
    });

export const int = (def: number, min: number, max: number) => optionalInt(min, max).transform((v) => v ?? def);

export const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const url = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v ?? '').trim() || def;
      try {
        const u = new URL(value);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        return value.replace(/\/+$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: expected('an http(s) URL', value) });
        return z.NEVER;
      }
    });

/** A proxy URL (`http://` assumed without a scheme); the value is never echoed, it may hold credentials. */
export const proxyUrl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const value = v?.trim();
    if (!value) return undefined;
    const normalized = normalizeProxyUrl(value);
    try {
      if (['http:', 'https:', 'socks:', 'socks5:'].includes(new URL(normalized).protocol)) return normalized;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'expected an http(s):// or socks5:// proxy URL (the value is not shown: it may hold a password)' });
    return z.NEVER;
  });

/** A key from the environment (DATA_KEY): at least 16 characters; only its length is ever echoed. */
export const secretKey = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const value = v?.trim();
    if (!value) return undefined;
    if (value.length >= 16) return value;
    ctx.addIssue({ code: 'custom', message: `expected at least 16 characters (use a long random string), got ${value.length} characters` });
    return z.NEVER;
  });
