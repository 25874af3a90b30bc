/**
 * Turns the live Connect catalog into our base-model table: stable, readable ids
 * (`k2d6-chat` → `kimi-k2.6`, `k3-agent` → `kimi-k3-agent`), the catalog ids kept as aliases,
 * and the seed ids `k2` / `k1.5` as aliases of the closest current chat model.
 */
import { connectMappingFromCatalog } from '../upstream/kimi/connect/catalog.js';
import type { UpstreamCatalog, UpstreamCatalogModel } from '../upstream/kimi/types.js';
import type { BaseModel } from './model-table.js';

const OWNER = 'moonshot-kimi-web';
const SEED_ALIASES = ['k2', 'k1.5', 'kimi', 'kimi-k2'];

/** `k2d6-chat` → `kimi-k2.6`; `K2.6 Instant` → `kimi-k2.6`; `k3-agent-swarm` → `kimi-k3-agent-swarm`. */
export function friendlyId(m: UpstreamCatalogModel): string {
  let s = (m.hasCatalogId ? m.id : (m.displayName ?? m.id)).toLowerCase().trim();
  s = s.replace(/\s+(instant|thinking)$/, '');
  s = s.replace(/\s+/g, '-');
  s = s.replace(/k(\d+)d(\d+)/g, 'k$1.$2');
  s = s.replace(/-chat$/, '');
  return s.startsWith('kimi') ? s : `kimi-${s}`;
}

export function baseModelsFromCatalog(catalog: UpstreamCatalog): BaseModel[] {
  const byId = new Map<string, BaseModel>();
  for (const m of catalog.models) {
    const id = friendlyId(m);
    const existing = byId.get(id);
    // 2026-05 shape: "K2.6 Instant" and "K2.6 Thinking" are one model with a thinking switch.
    if (existing?.connect && !m.hasCatalogId) {
      if (m.thinking) existing.connect.thinking = true;
      continue;
    }
    const aliases = [m.id, m.key].filter((a): a is string => Boolean(a)).map((a) => a.toLowerCase()).filter((a) => a !== id);
    const efforts = m.reasoningEffortOptions;
    const base: BaseModel = {
      id,
      description: m.description ?? m.displayName ?? id,
      ownedBy: OWNER,
      aliases: [...new Set(aliases)],
      connect: connectMappingFromCatalog(m, m.thinking === true),
    };
    // Thinking-only models (efforts offered, but no "none"): there is no instant variant.
    if (efforts.length > 0 && !efforts.includes('REASONING_EFFORT_NONE')) base.alwaysThinking = true;
    byId.set(id, base);
  }
  const table = [...byId.values()];
  const chatModel =
    table.find((b) => catalog.defaultModelId && b.connect?.model === catalog.defaultModelId) ??
    table.find((b) => !b.connect?.kimiPlusId && !b.connect?.agentMode) ??
    table[0];
  if (chatModel) {
    const taken = new Set(table.flatMap((b) => [b.id, ...b.aliases]));
    chatModel.aliases.push(...SEED_ALIASES.filter((a) => !taken.has(a)));
  }
  return table;
}
