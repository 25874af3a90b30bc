/**
 * How citations look in OpenAI output (the `CITATIONS` style). This is the one place that
 * renders them, for the stream and the aggregated completion alike:
 * - inline, where the text cites a source (`citation-ref` events): `[n]` (`list`), a
 *   markdown footnote reference `[^n]` (`footnotes`), nothing (`none`);
 * - after the answer: a numbered `Sources:` list (`list`), footnote definitions `[^n]: …`
 *   that the references link to (`footnotes`), nothing (`none`).
 * Titles and urls are escaped so that no title or url can break the markdown around it
 * (brackets, parentheses, backticks, angle brackets, backslashes, line breaks). Only
 * http(s) urls are rendered; anything else (`javascript:`, `data:`) is dropped.
 * `stripCitationDecorations` undoes all of it, for comparing resent answers.
 */
import type { Citation, CitationRefAt } from '../../core/chat-event.js';
import type { CitationStyle } from './render-options.js';

/** Collects citations in arrival order, once per url. */
export class CitationCollector {
  readonly #seen = new Set<string>();
  readonly #items: Citation[] = [];

  add(citation: Citation): void {
    if (!isSafeUrl(citation.url) || this.#seen.has(citation.url)) return;
    this.#seen.add(citation.url);
    this.#items.push(citation);
  }

  get size(): number {
    return this.#items.length;
  }

  /** Citations ordered by their display number (arrival order among equal numbers). */
  sorted(): Citation[] {
    return this.#items
      .map((citation, position) => ({ citation, number: displayNumber(citation, position) }))
      .sort((a, b) => a.number - b.number)
      .map(({ citation, number }) => (citation.index === number ? citation : { ...citation, index: number }));
  }
}

/** How a reference to citation `index` looks inline in the text, per style (empty for `none`). */
export function citationMarker(index: number, style: CitationStyle): string {
  if (style === 'list') return `[${index}]`;
  if (style === 'footnotes') return `[^${index}]`;
  return '';
}

/** `text` with its citation references rendered inline (for `text-replace`). */
export function withCitationMarkers(text: string, refs: readonly CitationRefAt[] | undefined, style: CitationStyle): string {
  if (refs === undefined || refs.length === 0 || style === 'none') return text;
  let out = '';
  let at = 0;
  for (const ref of refs) {
    const to = Math.min(Math.max(ref.at, at), text.length);
    out += text.slice(at, to) + citationMarker(ref.index, style);
    at = to;
  }
  return out + text.slice(at);
}

/** One rendered line of the sources block; offsets are relative to `SourcesBlock.text`. */
export interface SourceLine {
  citation: Citation;
  start: number;
  end: number;
}

export interface SourcesBlock {
  text: string;
  lines: SourceLine[];
}

/**
 * Renders the sources block appended after the answer, or null when there is nothing to add.
 * `list`: `\n\nSources:\n1. [Title](url)\n2. …`; `footnotes`: `\n\n[^1]: [Title](url)\n…`.
 * Numbers are the citations' own `index`, so the inline markers in the answer match.
 */
export function formatSources(citations: readonly Citation[], style: CitationStyle): SourcesBlock | null {
  if (style === 'none' || citations.length === 0) return null;
  let text = style === 'list' ? '\n\nSources:' : '\n';
  const lines: SourceLine[] = [];
  for (const citation of citations) {
    const link = `[${escapeMarkdownText(citationTitle(citation))}](${escapeMarkdownUrl(citation.url)})`;
    const line = style === 'list' ? `${citation.index}. ${link}` : `[^${citation.index}]: ${link}`;
    text += '\n';
    lines.push({ citation, start: text.length, end: text.length + line.length });
    text += line;
  }
  return { text, lines };
}

const SAFE_URL = /^https?:\/\/[^\s/?#]/i;

export function isSafeUrl(url: string): boolean {
  return SAFE_URL.test(url);
}

// Whitespace and control characters (line breaks included) collapse to one space.
const TITLE_SPACE = /[\s\p{Cc}]+/gu;
const TITLE_SPECIAL = /[\\[\]()`<>]/g;

/** Escapes text for use inside `[...]` of a markdown link: one line, no active brackets. */
export function escapeMarkdownText(text: string): string {
  return text.replace(TITLE_SPACE, ' ').trim().replace(TITLE_SPECIAL, '\\$&');
}

const URL_UNSAFE = /[\s\p{Cc}()<>\\`]/gu;

/** Percent-encodes whatever would end or break a markdown link destination. */
export function escapeMarkdownUrl(url: string): string {
  return url.replace(URL_UNSAFE, percentEncode);
}

function percentEncode(ch: string): string {
  // encodeURIComponent leaves parentheses alone.
  if (ch === '(') return '%28';
  if (ch === ')') return '%29';
  return encodeURIComponent(ch);
}

/** The title shown for a citation: its title, else its site name, else its host name. */
export function citationTitle(citation: Citation): string {
  const title = citation.title.replace(TITLE_SPACE, ' ').trim();
  if (title) return title;
  const site = citation.siteName?.replace(TITLE_SPACE, ' ').trim();
  if (site) return site;
  try {
    return new URL(citation.url).hostname || citation.url;
  } catch {
    return citation.url;
  }
}

function displayNumber(citation: Citation, position: number): number {
  return Number.isInteger(citation.index) && citation.index > 0 ? citation.index : position + 1;
}

/** A sources block as `formatSources` writes it, up to the end of the content. */
const SOURCES_BLOCK = /\n\n(?:Sources:\n|\[\^\d+\]: )[\s\S]*$/;
/** An inline marker as `citationMarker` writes it, in either style. */
const INLINE_MARKER = /\[\^?\d+\]/g;

/**
 * Answer text without the citation decorations of any style: the sources block after it
 * and the inline markers. Text that merely looks like a marker (`a[1]`) goes too, so compare
 * only texts that both went through this.
 */
export function stripCitationDecorations(content: string): string {
  return content.replace(SOURCES_BLOCK, '').replace(INLINE_MARKER, '');
}
