/** The auxiliary-call options of a config (AUXILIARY_*), with the model looked up in the model table. */
import type { Config } from '../config/config.js';
import type { ModelRegistry } from '../models/registry.js';
import type { AuxiliaryOptions } from './auxiliary-turn.js';
import { AUXILIARY_SIGNATURES } from './signatures.js';

export function auxiliaryOptions(config: Config['auxiliary'], models: Pick<ModelRegistry, 'resolve'>): AuxiliaryOptions | undefined {
  if (!config.enabled) return undefined;
  const options: AuxiliaryOptions = { signatures: [...AUXILIARY_SIGNATURES, ...config.extraSignatures], localTitles: config.localTitles };
  const id = config.model;
  // An unknown AUXILIARY_MODEL falls back to the requested model (the catalog may not list it yet).
  if (id !== undefined) options.model = () => models.resolve(id);
  return options;
}
