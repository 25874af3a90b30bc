/**
 * Chat clients offer image upload only for models they believe take images: `/v1/models`
 * says so in the fields they read, and under the `-vision` names they match.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { dataUrl, png, seen } from './helpers/files.js';

describe('models that take images (Connect catalog)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { KIMI_PROTOCOL: 'connect', KIMI_TOKENS: 'tok-vision', CONVERSATION_REUSE: 'off' } });
  });
  afterAll(async () => h.close());

  const get = async (path: string, headers: Record<string, string> = {}) => (await fetch(h.base + path, { headers: { authorization: `Bearer ${h.apiKey}`, ...headers } })).json() as Promise<any>;

  it('lists the chat model as taking images and files, the agent model not, and the -vision names', async () => {
    const sdk = new OpenAI({ baseURL: `${h.base}/v1`, apiKey: h.apiKey, maxRetries: 0 });
    const models = (await sdk.models.list()).data as unknown as Array<Record<string, any>>;
    const chat = models.find((m) => m.id === 'kimi-k2.6');
    expect(chat).toMatchObject({ capabilities: { vision: true, file_upload: true }, vision: true, architecture: { input_modalities: ['text', 'image', 'file'] } });
    expect(models.find((m) => m.id === 'kimi-k3-agent')).toMatchObject({ vision: false });
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['kimi-k2.6-vision', 'kimi-k2.6-thinking-vision']));
    expect(ids).not.toContain('kimi-k3-agent-vision');
  });

  it('GET /v1/models/{id} says the same, for listed ids and unlisted variants alike', async () => {
    expect(await get('/v1/models/kimi-k2.6-vision')).toMatchObject({ id: 'kimi-k2.6-vision', vision: true });
    expect(await get('/v1/models/kimi-k2.6-thinking-search')).toMatchObject({ id: 'kimi-k2.6-thinking-search', object: 'model', capabilities: { vision: true } });
    expect((await fetch(`${h.base}/v1/models/kimi-k3-agent-vision`, { headers: { authorization: `Bearer ${h.apiKey}` } })).status).toBe(404);
  });

  it('the Anthropic-shaped list stays Anthropic’s shape', async () => {
    const list = await get('/v1/models', { 'anthropic-version': '2023-06-01' });
    expect(Object.keys(list.data.find((m: any) => m.id === 'kimi-k2.6')).sort()).toEqual(['created_at', 'display_name', 'id', 'type']);
  });

  it('a -vision name is the same model: an image reaches Kimi and the name is echoed', async () => {
    const image = png(91);
    const res = await postJson(h, { model: 'kimi-k2.6-vision', messages: [{ role: 'user', content: [{ type: 'text', text: '[[emu files]]' }, { type: 'image_url', image_url: { url: dataUrl('image/png', image) } }] }] });
    expect(res.status).toBe(200);
    expect(res.json.model).toBe('kimi-k2.6-vision');
    expect(res.json.choices[0].message.content).toBe(`Files: ${seen('image-1.png', 'image/png', image)}.`);
  });
});
