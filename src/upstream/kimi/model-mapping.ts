/**
 * How a model is requested on each Kimi protocol generation: the wire side of a model. The
 * model table (models/) holds these mappings for its base models and resolves a request's
 * model id to an `UpstreamModel`; the upstream clients read only this shape. The import
 * runs one way, models/ → upstream/.
 */

/** How a base model is requested on the legacy REST+SSE protocol (spec A.4). */
export interface RestMapping {
  /** Body field `model` (2025 www.kimi.com), e.g. `k2`, `k1.5`. */
  model: string;
  /** `model` to send when thinking is on; absent = no thinking mode on REST. */
  thinkingModel?: string;
  kimiplusId: string;
}

/** How a base model is requested on the Connect protocol (spec B.4, B.8). */
export interface ConnectMapping {
  scenario: string;
  /** Catalog id sent as `options.model` (2026-09 shape); absent for older catalogs. */
  model?: string;
  kimiPlusId?: string;
  agentMode?: string;
  /** Whether `options.thinking: true` is meaningful for this model. */
  thinking: boolean;
  /** `REASONING_EFFORT_*` values the catalog offers (empty = field not sent). */
  reasoningEffortOptions: string[];
  defaultReasoningEffort?: string;
  /** Effort to send when thinking is off (the catalog's "instant" option), if any. */
  instantReasoningEffort?: string;
}

/** A request's model as the upstream clients need it. */
export interface UpstreamModel {
  /** Exactly what the client asked for (for error messages). */
  requestedId: string;
  thinking: boolean;
  search: boolean;
  /** `REASONING_EFFORT_*` to send (Connect), when the model offers it. */
  reasoningEffort?: string;
  rest?: RestMapping;
  connect?: ConnectMapping;
}
