/**
 * MODEL_ALIASES: client model names this deployment answers under another model's id.
 *
 * Agent clients send their vendor's model names (Claude Code sends `claude-…` unless told
 * otherwise), and a 404 for the model makes them blame the model, not the proxy. A rule is
 * `pattern=target`, `*` matching any run of characters; rules are tried in order and the
 * first match wins. The target is any id `/v1/models` resolves (suffixes included).
 */

export interface ModelAliasRule {
  pattern: string;
  target: string;
  regex: RegExp;
}

/**
 * The default: Claude Code works with no model settings. Its small-model calls (titles,
 * summaries, the warm-up) go to the variant without web search, which answers sooner; `k2`
 * exists on both upstream protocols.
 */
export const DEFAULT_MODEL_ALIASES = '*-haiku-*=k2-nosearch,claude-*=k2';

const escapeRegex = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** Parses `a=b,c*=d`; throws an Error naming the bad entry. An empty string means no aliases. */
export function parseModelAliases(spec: string): ModelAliasRule[] {
  const rules: ModelAliasRule[] = [];
  for (const raw of spec.split(/[,\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const pattern = eq > 0 ? entry.slice(0, eq).trim().toLowerCase() : '';
    const target = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (pattern === '' || target === '' || target.includes('*') || target.includes('=')) {
      throw new Error(`"${entry.slice(0, 80)}" is not pattern=model (for example claude-*=k2)`);
    }
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
    rules.push({ pattern, target, regex });
  }
  return rules;
}

/** The model a client's id stands for, or undefined when no rule matches. */
export function aliasTarget(rules: readonly ModelAliasRule[], requestedId: string): string | undefined {
  const id = requestedId.trim().toLowerCase();
  return rules.find((r) => r.regex.test(id))?.target;
}
