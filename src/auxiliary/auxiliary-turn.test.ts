import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../core/chat-event.js';
import type { ResolvedModel } from '../models/model-table.js';
import type { RelayRequest, RelayTurn } from '../relay/relay.js';
import { startAuxiliaryTurn, type AuxiliaryOptions } from './auxiliary-turn.js';
import type { AuxiliaryCall } from './detect.js';

const requested = { requestedId: 'k2-thinking', canonicalId: 'k2-thinking', baseId: 'k2', thinking: true, search: true } as ResolvedModel;
const other = { requestedId: 'k1.5', canonicalId: 'k1.5', baseId: 'k1.5', thinking: true, search: true } as ResolvedModel;
const call: AuxiliaryCall = { task: 'title', client: 'open-webui', excerpt: 'How do I bake bread?', jsonKey: 'title' };

function fakes() {
  const opened: RelayRequest[] = [];
  const deleted: string[] = [];
  const relay = {
    open: async (req: RelayRequest): Promise<RelayTurn> => {
      opened.push(req);
      async function* events(): AsyncGenerator<ChatEvent> {
        yield { type: 'meta', chatId: 'chat-1' };
        yield { type: 'text-delta', text: 'Baking Bread' };
        yield { type: 'finish', reason: 'stop' };
      }
      return { events: events(), accountId: 'acct_a', migrated: false, abandon: () => undefined };
    },
  };
  const janitor = {
    schedule: async (accountId: string, chatId: string): Promise<void> => {
      deleted.push(`${accountId}/${chatId}`);
    },
  };
  return { relay, janitor, opened, deleted };
}

async function text(events: AsyncIterable<ChatEvent>): Promise<string> {
  let out = '';
  for await (const ev of events) if (ev.type === 'text-delta') out += ev.text;
  return out;
}

describe('auxiliary turns', () => {
  it('runs on AUXILIARY_MODEL with search and thinking off, and deletes the chat when the reply ends', async () => {
    const f = fakes();
    const options: AuxiliaryOptions = { signatures: [], localTitles: false, model: async () => other };
    const turn = await startAuxiliaryTurn({ relay: f.relay, janitor: f.janitor, options }, call, requested, new AbortController().signal);
    expect(f.opened[0]!.upstream.model).toMatchObject({ baseId: 'k1.5', thinking: false, search: false });
    expect(f.opened[0]!.accountId).toBeUndefined();
    expect(await text(turn.events)).toBe('{"title":"Baking Bread"}');
    expect(f.deleted).toEqual(['acct_a/chat-1']);
    expect(turn.auxiliary).toEqual({ task: 'title', client: 'open-webui', answeredBy: 'kimi' });
  });

  it('falls back to the requested model when AUXILIARY_MODEL is unknown', async () => {
    const f = fakes();
    await startAuxiliaryTurn({ relay: f.relay, janitor: f.janitor, options: { signatures: [], localTitles: false, model: async () => undefined } }, call, requested, new AbortController().signal);
    expect(f.opened[0]!.upstream.model).toMatchObject({ baseId: 'k2', thinking: false, search: false });
  });

  it('answers titles locally without opening anything upstream when asked to', async () => {
    const f = fakes();
    const turn = await startAuxiliaryTurn({ relay: f.relay, janitor: f.janitor, options: { signatures: [], localTitles: true } }, call, requested, new AbortController().signal);
    expect(await text(turn.events)).toBe('{"title":"How do I bake bread"}');
    expect(f.opened).toEqual([]);
    expect(turn.auxiliary.answeredBy).toBe('local');
  });
});
