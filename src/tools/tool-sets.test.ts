import { describe, expect, it } from 'vitest';
import { ProxyError } from '../core/errors.js';
import type { ToolRequest } from '../core/tool-spec.js';
import { toolSystemPrompt } from './prompt.js';
import { SchemaCache } from './schema-cache.js';
import { ToolSets } from './tool-sets.js';

/** A fresh copy each time, as every request of an agent brings its own. */
function readFile(choice: ToolRequest['choice'] = { kind: 'auto' }): ToolRequest {
  return {
    tools: [{ name: 'read_file', description: 'Reads a file.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }],
    choice,
    parallel: true,
  };
}

describe('ToolSets', () => {
  it('gives every request with an equal set the first checked instance, and its instructions rendered once', () => {
    const sets = new ToolSets(new SchemaCache());
    const first = sets.prepare(readFile());
    const again = sets.prepare(readFile());
    expect(again).toBe(first);
    const prompt = sets.systemPrompt(again);
    expect(prompt).toBe(toolSystemPrompt(readFile()));
    expect(sets.systemPrompt(sets.prepare(readFile()))).toBe(prompt);
  });

  it('keeps sets that differ in choice apart', () => {
    const sets = new ToolSets(new SchemaCache());
    const auto = sets.prepare(readFile());
    const required = sets.prepare(readFile({ kind: 'required' }));
    expect(required).not.toBe(auto);
    expect(sets.systemPrompt(required)).toContain('you must call at least one function');
    expect(sets.systemPrompt(auto)).not.toContain('you must call at least one function');
  });

  it('refuses an invalid set every time it comes, naming the tool', () => {
    const sets = new ToolSets(new SchemaCache());
    const bad = (): ToolRequest => ({ ...readFile(), tools: [{ name: 'x', parameters: { type: 'no-such-type' } }] });
    for (let i = 0; i < 2; i++) {
      const err = (() => {
        try {
          sets.prepare(bad());
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).message).toContain('function "x"');
    }
  });

  it('forgets the oldest set beyond its bound', () => {
    const sets = new ToolSets(new SchemaCache(), 1);
    const first = sets.prepare(readFile());
    sets.prepare(readFile({ kind: 'required' }));
    expect(sets.prepare(readFile())).not.toBe(first);
  });
});
