/**
 * Which inputs each model takes besides text, and how `/v1/models` says so. One table, from
 * what the protocol notes establish (never guessed):
 * - Connect chat models take images and documents: the 2026-09 capture attaches an uploaded
 *   image to a `SCENARIO_CHAT` turn (spec B.9), and the K2.5 generation (2026-02) is where
 *   Kimi's web chat gained images. Agent models (`kimiPlusId` / `agentMode`, spec B.8) have no
 *   captured file turn, so they are not advertised (attachments sent to them are still passed on).
 * - Legacy REST: documents on every model (spec A.10); images on K1.5, which the legacy catalog
 *   describes as "Efficient model with vision" (spec A.9); K2 predates images.
 *
 * Chat clients decide whether to offer an upload button in different ways, so each entry says
 * it in the shapes they read: `capabilities` (named like Open WebUI's model capabilities),
 * a top-level `vision` (LobeChat reads it before its own keyword rules) and OpenRouter's
 * `architecture.input_modalities`. Clients that go by the name alone (NextChat, Cherry Studio)
 * match `vision` in it: every image-taking model is also listed as `<id>-vision`.
 */
import type { BaseModel } from './model-table.js';

export interface ModelInputs {
  images: boolean;
  documents: boolean;
}

/** Legacy REST models that take images (spec A.9). */
const REST_IMAGE_MODELS = new Set(['k1.5']);

export function inputsOf(base: BaseModel): ModelInputs {
  if (base.connect) {
    const chat = !base.connect.kimiPlusId && !base.connect.agentMode;
    return { images: chat, documents: chat };
  }
  if (base.rest) return { images: REST_IMAGE_MODELS.has(base.rest.model), documents: true };
  return { images: false, documents: false };
}

/** The fields a `/v1/models` entry carries for a model with these inputs. */
export interface ModelInputFields {
  capabilities: { vision: boolean; file_upload: boolean };
  vision: boolean;
  architecture: { input_modalities: string[]; output_modalities: string[] };
}

export function inputFields(inputs: ModelInputs): ModelInputFields {
  return {
    capabilities: { vision: inputs.images, file_upload: inputs.documents },
    vision: inputs.images,
    architecture: {
      input_modalities: ['text', ...(inputs.images ? ['image'] : []), ...(inputs.documents ? ['file'] : [])],
      output_modalities: ['text'],
    },
  };
}
