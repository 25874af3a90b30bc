import { describe, expect, it } from 'vitest';
import { CONNECT_FALLBACK_MODELS } from './model-table.js';
import { DEFAULT_MODEL_ALIASES, aliasTarget, parseModelAliases } from './aliases.js';
import { ModelRegistry } from './registry.js';
import { FakeClock } from '../store/fake-clock.js';

describe('MODEL_ALIASES', () => {
  it('the default sends every Claude name to a model that exists, haiku to the no-search variant', () => {
    const rules = parseModelAliases(DEFAULT_MODEL_ALIASES);
    expect(aliasTarget(rules, 'claude-sonnet-4-5-20250929')).toBe('k2');
    expect(aliasTarget(rules, 'claude-opus-4-1')).toBe('k2');
    expect(aliasTarget(rules, 'claude-haiku-4-5-20251001')).toBe('k2-nosearch');
    expect(aliasTarget(rules, 'claude-3-5-haiku-20241022')).toBe('k2-nosearch');
    expect(aliasTarget(rules, 'k2')).toBeUndefined();
  });

  it('first match wins, case-insensitive; bad entries are named', () => {
    const rules = parseModelAliases('gpt-4o=k2-thinking, gpt-*=k2 ,');
    expect(aliasTarget(rules, 'GPT-4o')).toBe('k2-thinking');
    expect(aliasTarget(rules, 'gpt-5.1')).toBe('k2');
    expect(parseModelAliases('')).toEqual([]);
    expect(() => parseModelAliases('claude-*')).toThrow(/"claude-\*" is not pattern=model/);
    expect(() => parseModelAliases('a=b*')).toThrow(/pattern=model/);
  });

  it('the registry resolves an alias to the target model and echoes the client’s name', async () => {
    const registry = new ModelRegistry({ protocol: 'connect', ttlMs: 1000, clock: new FakeClock(0), aliases: parseModelAliases('claude-*=k2-thinking') });
    const resolved = await registry.resolve('claude-opus-4-1');
    expect(resolved).toMatchObject({ requestedId: 'claude-opus-4-1', baseId: CONNECT_FALLBACK_MODELS[0]!.id, thinking: true });
    expect(await registry.resolve('mistral-large')).toBeUndefined();
  });
});
