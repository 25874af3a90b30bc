/** Tolerant parse of `ConfigService/GetAvailableModels` (spec B.8, both the 2026-05 and 2026-09 shapes). */
import { ProxyError } from '../../../core/errors.js';
import type { ConnectMapping } from '../model-mapping.js';
import type { UpstreamCatalog, UpstreamCatalogModel } from '../types.js';
import { str } from '../wire-json.js';

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

/**
 * The Connect mapping of a live catalog entry. `thinkingVariant`: the catalog lists a
 * thinking variant of the model (2026-05 shape), so `options.thinking` is meaningful.
 */
export function connectMappingFromCatalog(m: UpstreamCatalogModel, thinkingVariant: boolean): ConnectMapping {
  const efforts = m.reasoningEffortOptions;
  const hasNone = efforts.includes('REASONING_EFFORT_NONE');
  const mapping: ConnectMapping = {
    scenario: m.scenario,
    thinking: thinkingVariant || efforts.some((e) => e !== 'REASONING_EFFORT_NONE'),
    reasoningEffortOptions: efforts,
  };
  if (m.hasCatalogId) mapping.model = m.id;
  if (m.kimiPlusId) mapping.kimiPlusId = m.kimiPlusId;
  if (m.agentMode) mapping.agentMode = m.agentMode;
  if (m.defaultReasoningEffort && m.defaultReasoningEffort !== 'REASONING_EFFORT_NONE') mapping.defaultReasoningEffort = m.defaultReasoningEffort;
  else if (efforts.length > 0) {
    const firstThinking = efforts.find((e) => e !== 'REASONING_EFFORT_NONE');
    if (firstThinking) mapping.defaultReasoningEffort = firstThinking;
  }
  if (hasNone) mapping.instantReasoningEffort = 'REASONING_EFFORT_NONE';
  return mapping;
}
