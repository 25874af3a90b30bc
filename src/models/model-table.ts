/**
 * Public model ids and how each maps onto the two Kimi protocol generations.
 *
 * One table of base models; variants come from a small suffix grammar applied to every
 * base: `<base>[-thinking][-search|-nosearch]`. Search is on unless `-nosearch` (or the
 * request field `web_search: false`) turns it off. A model that takes images also answers to
 * `-vision` (the same model under a name that chat clients recognise, capabilities.ts). How each base is requested on the wire
 * (its REST or Connect mapping) is an upstream type (upstream/kimi/model-mapping.ts).
 */
import type { ConnectMapping, RestMapping, UpstreamModel } from '../upstream/kimi/model-mapping.js';
import { inputFields, inputsOf, type ModelInputFields } from './capabilities.js';

export interface BaseModel {
  id: string;
  description: string;
  ownedBy: string;
  /** Other ids that resolve to this model (kept stable for old configs/clients). */
  aliases: string[];
  rest?: RestMapping;
  connect?: ConnectMapping;
  /** When set, the model is thinking-only (no instant variant). */
  alwaysThinking?: boolean;
}

/** A request's model, fully resolved: what the upstream layer needs, plus its base model. */
export interface ResolvedModel extends UpstreamModel {
  /** Exactly what the client asked for; echoed in responses. */
  requestedId: string;
  /** The base model's id with the suffixes asked for (`k2-thinking` → `kimi-k2.6-thinking`): the same for every alias. */
  canonicalId: string;
  baseId: string;
}

export interface PublicModel extends ModelInputFields {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  description?: string;
}

const OWNER = 'moonshot-kimi-web';

/** The ids every deployment has listed from the start; always shown with their variants. */
const SEED_IDS = new Set(['k2', 'k1.5']);

/** Models of the legacy REST protocol (spec A.4, A.9 legacy catalog). */
export const REST_BASE_MODELS: BaseModel[] = [
  {
    id: 'k2',
    description: 'Kimi K2 (web), web search on by default',
    ownedBy: OWNER,
    aliases: ['kimi', 'kimi-k2'],
    rest: { model: 'k2', kimiplusId: 'kimi' },
  },
  {
    id: 'k1.5',
    description: 'Kimi K1.5 (web) with optional long thinking, web search on by default',
    ownedBy: OWNER,
    aliases: ['kimi-k1.5'],
    rest: { model: 'k1.5', thinkingModel: 'k1.5-thinking', kimiplusId: 'kimi' },
  },
];

/**
 * Fallback for the Connect protocol when the live catalog cannot be read: the 2026-09
 * chat model (spec B.8). `k2` and `k1.5` stay valid as aliases of the closest current model.
 */
export const CONNECT_FALLBACK_MODELS: BaseModel[] = [
  {
    id: 'kimi-k2.6',
    description: 'Kimi K2.6 (web): fast chat; -thinking for reasoning; web search on by default',
    ownedBy: OWNER,
    aliases: ['k2', 'k1.5', 'kimi', 'kimi-k2', 'k2d6', 'k2d6-chat'],
    connect: {
      scenario: 'SCENARIO_CHAT',
      model: 'k2d6-chat',
      thinking: true,
      reasoningEffortOptions: ['REASONING_EFFORT_NONE', 'REASONING_EFFORT_LOW'],
      defaultReasoningEffort: 'REASONING_EFFORT_LOW',
      instantReasoningEffort: 'REASONING_EFFORT_NONE',
    },
  },
];

interface Suffix {
  suffix: string;
  apply: (v: Variant) => Variant | undefined;
}
interface Variant {
  thinking?: boolean;
  search?: boolean;
  vision?: boolean;
}

/** The suffix grammar, in the order suffixes may appear (right to left when parsing). */
const SUFFIXES: Suffix[] = [
  { suffix: '-nosearch', apply: (v) => (v.search === undefined ? { ...v, search: false } : undefined) },
  { suffix: '-search', apply: (v) => (v.search === undefined ? { ...v, search: true } : undefined) },
  { suffix: '-thinking', apply: (v) => (v.thinking === undefined ? { ...v, thinking: true } : undefined) },
  { suffix: '-vision', apply: (v) => (v.vision === undefined ? { ...v, vision: true } : undefined) },
];

function supportsThinking(base: BaseModel): boolean {
  return Boolean(base.rest?.thinkingModel) || Boolean(base.connect?.thinking);
}

export interface ResolveOptions {
  /** Request field `web_search` (or equivalent); overrides the default but not `-nosearch`. */
  webSearch?: boolean;
  /** Request-level thinking switch (`enable_thinking`, `thinking.type`, `reasoning_effort`). */
  thinking?: boolean;
  /** OpenAI `reasoning_effort` (`none|minimal|low|medium|high|xhigh|max`). */
  reasoningEffort?: string;
}

const OPENAI_EFFORT_TO_KIMI: Record<string, string> = {
  none: 'REASONING_EFFORT_NONE',
  minimal: 'REASONING_EFFORT_LOW',
  low: 'REASONING_EFFORT_LOW',
  medium: 'REASONING_EFFORT_MEDIUM',
  high: 'REASONING_EFFORT_HIGH',
  xhigh: 'REASONING_EFFORT_MAX',
  max: 'REASONING_EFFORT_MAX',
};

/** The OpenAI `reasoning_effort` values this proxy understands (anything else is refused with a 400). */
export const OPENAI_REASONING_EFFORTS: readonly string[] = Object.keys(OPENAI_EFFORT_TO_KIMI);

/** Picks the closest effort the model offers (same or lower, else its lowest above). */
function pickEffort(wanted: string, options: string[]): string | undefined {
  const order = ['REASONING_EFFORT_NONE', 'REASONING_EFFORT_LOW', 'REASONING_EFFORT_MEDIUM', 'REASONING_EFFORT_HIGH', 'REASONING_EFFORT_MAX'];
  const rank = order.indexOf(wanted);
  const offered = options.filter((o) => order.includes(o)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const atOrBelow = offered.filter((o) => order.indexOf(o) <= rank);
  return atOrBelow.at(-1) ?? offered[0];
}

/** Resolves a public id (with suffixes) against a table of base models. */
export function resolveModel(table: BaseModel[], requestedId: string, opts: ResolveOptions = {}): ResolvedModel | undefined {
  const wanted = requestedId.trim().toLowerCase();
  let variant: Variant = {};
  let stem = wanted;
  for (;;) {
    const match = SUFFIXES.find((s) => stem.endsWith(s.suffix) && stem.length > s.suffix.length);
    if (!match) break;
    const next = match.apply(variant);
    if (!next) return undefined; // the same kind of suffix twice, e.g. `-search-nosearch`
    variant = next;
    stem = stem.slice(0, -match.suffix.length);
  }
  const base = table.find((b) => b.id === stem || b.aliases.includes(stem));
  if (!base) return undefined;
  if (variant.thinking && !supportsThinking(base)) return undefined;
  // `-vision` names only a model that takes images: a client that trusts the name must not be misled.
  if (variant.vision && !inputsOf(base).images) return undefined;

  const effortWanted = opts.reasoningEffort ? OPENAI_EFFORT_TO_KIMI[opts.reasoningEffort.toLowerCase()] : undefined;
  let thinking = variant.thinking ?? opts.thinking ?? base.alwaysThinking ?? false;
  if (effortWanted && variant.thinking === undefined && opts.thinking === undefined) {
    thinking = effortWanted !== 'REASONING_EFFORT_NONE';
  }
  if (!supportsThinking(base)) thinking = false;
  const search = variant.search ?? opts.webSearch ?? true;

  let reasoningEffort: string | undefined;
  const c = base.connect;
  if (c && c.reasoningEffortOptions.length > 0) {
    if (!thinking) reasoningEffort = c.instantReasoningEffort;
    else if (effortWanted && effortWanted !== 'REASONING_EFFORT_NONE') reasoningEffort = pickEffort(effortWanted, c.reasoningEffortOptions.filter((o) => o !== c.instantReasoningEffort));
    else reasoningEffort = c.defaultReasoningEffort;
  }

  // `-vision` is a second name of the same model: a key allowed the model may use it under either.
  const canonicalId = base.id + wanted.slice(stem.length).replace('-vision', '');
  const resolved: ResolvedModel = { requestedId, canonicalId, baseId: base.id, thinking, search };
  if (reasoningEffort) resolved.reasoningEffort = reasoningEffort;
  if (base.rest) resolved.rest = base.rest;
  if (base.connect) resolved.connect = base.connect;
  return resolved;
}

/**
 * The ids `/v1/models` lists for a table: each base, its `-thinking` and `-nosearch` variants
 * (and `-vision` ones when it takes images), and its aliases; each says which inputs it takes.
 */
export function listModels(table: BaseModel[], created: number): PublicModel[] {
  const out: PublicModel[] = [];
  const seen = new Set<string>();
  const add = (id: string, description: string, base: BaseModel): void => {
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ id, object: 'model', created, owned_by: base.ownedBy, description, ...inputFields(inputsOf(base)) });
  };
  for (const base of table) {
    const think = supportsThinking(base) && !base.alwaysThinking;
    add(base.id, base.description, base);
    if (think) add(`${base.id}-thinking`, `${base.description} (thinking)`, base);
    add(`${base.id}-nosearch`, `${base.description} (web search off)`, base);
    if (think) add(`${base.id}-thinking-nosearch`, `${base.description} (thinking, web search off)`, base);
    if (inputsOf(base).images) {
      add(`${base.id}-vision`, `${base.description} (images and documents)`, base);
      if (think) add(`${base.id}-thinking-vision`, `${base.description} (thinking; images and documents)`, base);
    }
  }
  for (const base of table) {
    for (const alias of base.aliases) {
      add(alias, `Alias of ${base.id}`, base);
      // The seed ids keep their documented variants; other aliases are listed bare (all variants resolve).
      if (!SEED_IDS.has(alias)) continue;
      if (supportsThinking(base) && !base.alwaysThinking) add(`${alias}-thinking`, `Alias of ${base.id}-thinking`, base);
      add(`${alias}-nosearch`, `Alias of ${base.id}-nosearch`, base);
    }
  }
  return out;
}
