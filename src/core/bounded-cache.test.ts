import { describe, expect, it } from 'vitest';
import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache', () => {
  it('makes a value once per key and keeps it', () => {
    const cache = new BoundedCache<string, number>(4);
    let made = 0;
    expect(cache.getOrMake('a', () => ++made)).toBe(1);
    expect(cache.getOrMake('a', () => ++made)).toBe(1);
    expect(made).toBe(1);
  });

  it('drops the oldest entry when full, and never one for a key set again', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('b', 3);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 4);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c')]).toEqual([3, 4]);
  });

  it('keeps nothing when making the value throws', () => {
    const cache = new BoundedCache<string, number>(2);
    expect(() =>
      cache.getOrMake('bad', () => {
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(cache.get('bad')).toBeUndefined();
  });
});
