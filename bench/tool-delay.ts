/**
 * How long the tool-call parser holds back text. With tools in the request, kimi-proxy's
 * stream parser keeps back a delta's tail that could still become the start of a call
 * marker (here a trailing `<`) until the next delta shows it is not one. The reply is
 * paced (40 deltas a second) and made of 4-character deltas `ab <`, so every delta ends
 * with such a tail; the delay of held text is the time between the arrival of a delta's
 * first character and its last one at the client, read per delta within one stream, so
 * that no two streams' timers are compared. The same streams without tools are the
 * reference (nothing is held there).
 */
import { rawRequest } from './raw-http.js';
import type { Target } from './load.js';
import { AGENT_TOOLS } from './agent-tools.js';
import { percentile } from './stats.js';
import { openaiBody, readOpenAIStream } from './wire.js';

const UNIT = 'ab <';
const DELTAS = 40;
const DELAY_MS = 25;
const REPLY = UNIT.repeat(DELTAS);

export interface ToolDelayResult {
  streams: number;
  /** Per delta: last character's arrival minus the first's, ms. */
  withTools: { p50: number; p95: number; max: number };
  withoutTools: { p50: number; p95: number; max: number };
  deltaIntervalMs: number;
  errors: number;
  errorMessages: string[];
}

/** Arrival time of every character of the answer text. */
async function arrivals(t: Target, tools: boolean): Promise<number[]> {
  const times: number[] = [];
  let pending = '';
  const onChunk = (chunk: Buffer, at: number): void => {
    pending += chunk.toString('utf8');
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const record = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (!record.startsWith('data: {')) continue;
      const content = (JSON.parse(record.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
      if (typeof content === 'string') for (let i = 0; i < content.length; i++) times.push(at);
    }
  };
  const prompt = `[[emu reply="${REPLY}" deltas=${DELTAS} delay=${DELAY_MS} writes=event]] Write the pattern.`;
  const r = await rawRequest(
    t.dispatcher,
    {
      origin: t.url,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: openaiBody([{ role: 'user', content: prompt }], true, tools ? { tools: AGENT_TOOLS } : {}),
    },
    { keepBody: true, onChunk, signal: AbortSignal.timeout(60_000) },
  );
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  const reply = readOpenAIStream(r.body!);
  if (reply.error || reply.text !== REPLY) throw new Error(`unexpected reply ${JSON.stringify(reply.text.slice(0, 40))}`);
  return times;
}

/** The spread of arrival times inside each upstream delta. */
function perDelta(times: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < DELTAS; k++) out.push(times[(k + 1) * UNIT.length - 1]! - times[k * UNIT.length]!);
  return out;
}

const summary = (v: number[]): { p50: number; p95: number; max: number } => ({ p50: percentile(v, 50), p95: percentile(v, 95), max: Math.max(...v) });

/** `streams` pairs (with and without tools), all running at once. */
export async function measureToolDelay(t: Target, streams: number): Promise<ToolDelayResult> {
  const withTools: number[] = [];
  const withoutTools: number[] = [];
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: streams * 2 }, async (_, i) => {
      try {
        const d = perDelta(await arrivals(t, i % 2 === 0));
        (i % 2 === 0 ? withTools : withoutTools).push(...d);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }),
  );
  return { streams, withTools: summary(withTools), withoutTools: summary(withoutTools), deltaIntervalMs: DELAY_MS, errors: errors.length, errorMessages: errors.slice(0, 5) };
}
