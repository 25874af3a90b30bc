import { describe, expect, it } from 'vitest';
import { appendText, data, decode, done, setText, setThink, texts } from '../__fixtures__/connect-frames.js';

describe('decodeConnectChat: search and citations', () => {
  const result = (i: number, url: string) => ({ searchResult: { id: `r${i}`, base: { title: `T${i}`, url, siteName: 's', snippet: 'x' }, refIndex: `web_search:1#${i}` } });

  it('keywords → search; webPages → citations de-duplicated by url', async () => {
    const r = await decode([
      data({ op: 'append', mask: 'block.search.keywords', block: { id: '0_0', search: { keywords: ['q'] } } }),
      data({ op: 'append', mask: 'block.search.webPages', block: { id: '0_0', search: { webPages: [{ title: 'A', url: 'https://a' }, { title: 'A2', url: 'https://a' }, { title: 'B', url: 'https://b' }] } } }),
      done(),
    ]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'search', queries: ['q'] },
      { type: 'citation', citation: { index: 1, url: 'https://a', title: 'A' } },
      { type: 'citation', citation: { index: 2, url: 'https://b', title: 'B' } },
    ]);
  });

  it('accumulates tool args until they parse, then emits the queries once', async () => {
    const r = await decode([
      data({ op: 'set', mask: 'block.tool', block: { id: '1', tool: { name: '$web_search', args: '' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: '{"queries":["a' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: '}b", "c"' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: ']}' } } }),
      data({ op: 'append', mask: 'block.tool.args', block: { id: '1', tool: { args: ' ' } } }),
      done(),
    ]);
    expect(r.events.filter((e) => e.type === 'search')).toEqual([{ type: 'search', queries: ['a}b', 'c'] }]);
  });

  it('tolerates tool args that never parse', async () => {
    const r = await decode([data({ op: 'append', mask: 'block.tool.args', block: { tool: { args: '{"queries": [' } } }), setText('2', 'ok'), done()]);
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
  });

  it('numbers markers by refIndex; a ref seen before its result keeps its number', async () => {
    const r = await decode([
      data({ op: 'set', mask: 'block.tool.contents', block: { id: '1', tool: { contents: [result(0, 'https://a'), result(1, 'https://b')] } } }),
      setText('2', 'x\ue3a0cite\ue3a3web_search:1#1\ue3a3web_search:1#9\ue3a8 y\ue3a0cite\ue3a3web_search:1#0\ue3a8'),
      data({ op: 'set', mask: 'message.refs.searchChunks', message: { refs: { searchChunks: [result(0, 'https://a'), result(9, 'https://z')] } } }),
      done(),
    ]);
    expect(texts(r.events)).toBe('x[2][3] y[1]');
    expect(r.events.filter((e) => e.type === 'citation').map((e) => e.type === 'citation' && [e.citation.index, e.citation.url])).toEqual([
      [1, 'https://a'],
      [2, 'https://b'],
      [3, 'https://z'],
    ]);
  });

  it('holds a marker split across deltas and never outputs private-use characters', async () => {
    const marker = '\ue3a0cite\ue3a3web_search:1#0\ue3a8';
    const full = `Before ${marker} after\ue3a5.`;
    for (let cut = 0; cut <= full.length; cut++) {
      const r = await decode([setText('1', full.slice(0, cut)), appendText('1', full.slice(cut)), done()]);
      const out = texts(r.events);
      expect(out).toBe('Before [1] after.');
      expect(/[\ue3a0-\ue3a8]/.test(JSON.stringify(r.events))).toBe(false);
    }
  });

  it('releases an unterminated marker at done with its private-use characters removed', async () => {
    const r = await decode([setText('1', 'text \ue3a0cite\ue3a3web_sea'), done()]);
    expect(r.events).toEqual([
      { type: 'text-delta', text: 'text ' },
      { type: 'text-delta', text: 'citeweb_sea' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('releases held marker text when another block starts speaking', async () => {
    const r = await decode([setText('1', 'a\ue3a0ci'), setThink('k', 'thought'), done()]);
    expect(r.events.filter((e) => e.type !== 'finish')).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'ci' },
      { type: 'reasoning-delta', text: 'thought' },
    ]);
  });
});
