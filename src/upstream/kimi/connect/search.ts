/**
 * Web search in a Connect reply (spec B.6): search queries (block keywords, or the JSON
 * arguments of a search tool block streamed in fragments) become `search` events; search
 * results (block web pages, tool contents, `message.refs.searchChunks`) become numbered
 * `citation` events, once per url. The numbering is shared with the inline citation
 * markers of the answer text (`numberForRef`).
 */
import type { ChatEvent } from '../../../core/chat-event.js';
import { CitationRegistry } from '../citation-markers.js';
import { isObject, obj, str, type WireObject } from '../wire-json.js';

/** Tool-call argument text kept per block while waiting for it to parse. */
const MAX_TOOL_ARGS_CHARS = 64 * 1024;

interface ToolState {
  args: string;
  settled: boolean;
}

export class ConnectSearch {
  private readonly citations = new CitationRegistry();
  private tools: Map<string, ToolState> | undefined;
  /** The number an inline marker shows for a `refIndex` (see CitationRegistry). */
  readonly numberForRef = (ref: string): number => this.citations.numberForRef(ref);

  /** Events are pushed to `out`, the decoder's list for the current read. */
  constructor(private readonly out: ChatEvent[]) {}

  /** `block.search`: `{keywords?, webPages?}`. */
  search(search: WireObject | undefined): void {
    if (!search) return;
    if (Array.isArray(search.keywords)) {
      const queries = search.keywords.filter((k): k is string => typeof k === 'string' && k !== '');
      if (queries.length > 0) this.out.push({ type: 'search', queries });
    }
    if (Array.isArray(search.webPages)) {
      for (const page of search.webPages) {
        if (isObject(page)) this.citation(page, undefined);
      }
    }
  }

  /** `block.tool`: streamed arguments (the queries) and, later, the results as contents. */
  tool(block: WireObject, append: boolean): void {
    const tool = obj(block.tool);
    if (!tool) return;
    if (typeof tool.args === 'string') this.toolArgs(typeof block.id === 'string' ? block.id : '', tool.args, append);
    if (Array.isArray(tool.contents)) this.searchChunks(tool.contents);
  }

  /** `[{searchResult:{id, base:{title,url,siteName,snippet}, refIndex}}]` (tool contents, message refs). */
  searchChunks(chunks: unknown): void {
    if (!Array.isArray(chunks)) return;
    for (const chunk of chunks) {
      const result = obj(obj(chunk)?.searchResult);
      if (!result) continue;
      const base = obj(result.base);
      if (base) this.citation(base, str(result.refIndex));
    }
  }

  /** `block.tool.args` streams a JSON document (e.g. `{"queries":[...]}`) in fragments. */
  private toolArgs(id: string, fragment: string, append: boolean): void {
    this.tools ??= new Map();
    let state = this.tools.get(id);
    if (state === undefined) {
      state = { args: '', settled: false };
      this.tools.set(id, state);
    }
    if (state.settled) return;
    const args = append ? state.args + fragment : fragment;
    if (args.length > MAX_TOOL_ARGS_CHARS) {
      // Never parsed within a sane size: give up on it (queries are only progress info).
      state.settled = true;
      state.args = '';
      return;
    }
    state.args = args;
    // Only try to parse what could be a complete JSON object.
    if (!args.trimEnd().endsWith('}')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      return;
    }
    state.settled = true;
    state.args = '';
    if (!isObject(parsed)) return;
    const q = parsed.queries ?? parsed.query;
    const queries = typeof q === 'string' ? [q] : Array.isArray(q) ? q : [];
    const list = queries.filter((k): k is string => typeof k === 'string' && k !== '');
    if (list.length > 0) this.out.push({ type: 'search', queries: list });
  }

  private citation(source: WireObject, refIndex: string | undefined): void {
    const url = str(source.url);
    if (!url) return;
    const citation = this.citations.add({
      url,
      title: str(source.title),
      snippet: str(source.snippet),
      siteName: str(source.siteName),
      refIndex,
    });
    if (citation) this.out.push({ type: 'citation', citation });
  }
}
