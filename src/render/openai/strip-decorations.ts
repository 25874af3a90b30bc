/**
 * What the OpenAI renderers add around the upstream answer, taken off again: `<think>`
 * blocks (`REASONING_OUTPUT=think_tags`), inline citation markers and the sources block
 * (any `CITATIONS` style). A client resends the assistant messages it was shown; stateful
 * conversations compare them with the stored answer, which has none of these.
 */
import { stripCitationDecorations } from './citations.js';

/** A think block as stream.ts / completion.ts write it, with the whitespace after it. */
const THINK_BLOCK = /<think>[\s\S]*?<\/think>\s*/g;

/** `content` as the renderers wrote it → the answer text without their decorations. */
export function stripDecorations(content: string): string {
  return stripCitationDecorations(content.replace(THINK_BLOCK, ''));
}
