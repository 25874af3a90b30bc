import { describe, expect, it } from 'vitest';
import { CONNECT_FALLBACK_MODELS, REST_BASE_MODELS, listModels, resolveModel, type BaseModel } from './model-table.js';

const agent: BaseModel = {
  id: 'kimi-k3-agent',
  description: 'K3 agent',
  ownedBy: 'moonshot-kimi-web',
  aliases: [],
  connect: { scenario: 'SCENARIO_OK_COMPUTER', model: 'k3-agent', kimiPlusId: 'ok-computer', agentMode: 'TYPE_NORMAL', thinking: true, reasoningEffortOptions: [] },
};

const entry = (list: ReturnType<typeof listModels>, id: string) => list.find((m) => m.id === id);

describe('/v1/models says which models take images and documents', () => {
  it('a Connect chat model: capabilities, LobeChat’s vision flag, OpenRouter’s modalities, and a -vision name', () => {
    const list = listModels([...CONNECT_FALLBACK_MODELS, agent], 0);
    expect(entry(list, 'kimi-k2.6')).toMatchObject({
      capabilities: { vision: true, file_upload: true },
      vision: true,
      architecture: { input_modalities: ['text', 'image', 'file'], output_modalities: ['text'] },
    });
    // Aliases say what their model says; `k2` is the chat model here.
    expect(entry(list, 'k2')?.vision).toBe(true);
    expect(entry(list, 'kimi-k2.6-vision')?.vision).toBe(true);
    expect(entry(list, 'kimi-k2.6-thinking-vision')?.vision).toBe(true);
  });

  it('an agent model (no captured file turn) is not advertised and has no -vision name', () => {
    const list = listModels([...CONNECT_FALLBACK_MODELS, agent], 0);
    expect(entry(list, 'kimi-k3-agent')).toMatchObject({ capabilities: { vision: false, file_upload: false }, vision: false, architecture: { input_modalities: ['text'] } });
    expect(entry(list, 'kimi-k3-agent-vision')).toBeUndefined();
    expect(resolveModel([agent], 'kimi-k3-agent-vision')).toBeUndefined();
  });

  it('legacy REST: K1.5 takes images, K2 documents only', () => {
    const list = listModels(REST_BASE_MODELS, 0);
    expect(entry(list, 'k1.5')).toMatchObject({ vision: true, capabilities: { vision: true, file_upload: true } });
    expect(entry(list, 'k2')).toMatchObject({ vision: false, capabilities: { vision: false, file_upload: true }, architecture: { input_modalities: ['text', 'file'] } });
    expect(entry(list, 'k1.5-vision')).toBeDefined();
    expect(entry(list, 'k2-vision')).toBeUndefined();
    expect(resolveModel(REST_BASE_MODELS, 'k2-vision')).toBeUndefined();
  });

  it('-vision is the same model under a second name: same wire mapping, same canonical id, any order of suffixes', () => {
    const plain = resolveModel(CONNECT_FALLBACK_MODELS, 'kimi-k2.6-thinking');
    const named = resolveModel(CONNECT_FALLBACK_MODELS, 'kimi-k2.6-vision-thinking');
    expect(named).toMatchObject({ requestedId: 'kimi-k2.6-vision-thinking', canonicalId: 'kimi-k2.6-thinking', thinking: true, connect: plain!.connect });
    expect(resolveModel(REST_BASE_MODELS, 'k1.5-vision')).toMatchObject({ canonicalId: 'k1.5', thinking: false, rest: { model: 'k1.5' } });
    expect(resolveModel(CONNECT_FALLBACK_MODELS, 'kimi-k2.6-vision-vision')).toBeUndefined();
  });
});
