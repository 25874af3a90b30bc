/** Tolerant parse of `ConfigService/GetAvailableModels` (spec B.8, both the 2026-05 and 2026-09 shapes). */
import { ProxyError } from '../../../core/errors.js';
import type { UpstreamCatalog, UpstreamCatalogModel } from '../types.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Optional string fields copied as they are when present and non-empty. */
const OPTIONAL_STRINGS = ['key', 'displayName', 'description', 'kimiPlusId', 'agentMode', 'defaultReasoningEffort'] as const;

export function parseCatalog(raw: unknown): UpstreamCatalog {
  const list = (raw as { availableModels?: unknown } | null)?.availableModels;
  if (!Array.isArray(list)) throw new ProxyError('upstream_protocol_error', 'GetAvailableModels returned no availableModels list.');
  const models: UpstreamCatalogModel[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const m = item as Record<string, unknown>;
    const scenario = str(m.scenario);
    if (!scenario) continue;
    const efforts = Array.isArray(m.reasoningEffortOptions)
      ? m.reasoningEffortOptions.map((o) => str((o as { effort?: unknown } | null)?.effort)).filter((e): e is string => Boolean(e))
      : [];
    // 2026-05 entries carry no id; the display name is the only stable handle then.
    const id = str(m.id) ?? str(m.key) ?? str(m.displayName);
    if (!id) continue;
    const model: UpstreamCatalogModel = { id, scenario, reasoningEffortOptions: efforts };
    for (const field of OPTIONAL_STRINGS) {
      const value = str(m[field]);
      if (value) model[field] = value;
    }
    if (m.thinking === true) model.thinking = true;
    // Marks the 2026-09 shape, where the catalog id is sent back as options.model.
    if (str(m.id)) model.hasCatalogId = true;
    models.push(model);
  }
  const catalog: UpstreamCatalog = { models };
  const def = (raw as { defaultScenario?: { model?: unknown } }).defaultScenario;
  const defId = str(def?.model);
  if (defId) catalog.defaultModelId = defId;
  return catalog;
}
