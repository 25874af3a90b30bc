/**
 * The benchmark's workloads, one row each. A workload is a scripted reply (the `[[emu …]]`
 * directives of the prompt), what the client sends on top (stream or not, tools), how the
 * virtual users pace themselves, and the concurrencies it runs at. Every variant sends the
 * same prompt; only kimi-proxy sees the OpenAI-side extras (tools), which never reach the
 * emulator's reply script.
 *
 * Upstream writes: `writes=event` (the default here) makes the emulator write each SSE record
 * or Connect frame on its own, a turn apart, as Kimi streams tokens one by one; `batched`
 * workloads leave it at one write per burst, which is how the emulator used to be measured.
 */
import { AGENT_TOOLS } from './agent-tools.js';
import { ANTHROPIC_MESSAGES, OPENAI_RESPONSES, type DoorWire } from './wire.js';

export interface Workload {
  /** The table's label. */
  label: string;
  /** The reply script and the question (the same for every variant). */
  prompt: string;
  /** The exact answer text every checked reply must have (stateful: see load.ts). */
  expected: string;
  stream: boolean;
  /** Conversation turns continuing one upstream chat (the prompt is per turn, see load.ts). */
  stateful?: boolean;
  /** Extra fields of kimi-proxy's request (e.g. tools). */
  requestExtra?: Record<string, unknown>;
  /** The front door kimi-proxy is asked through (default: OpenAI chat completions). */
  door?: DoorWire;
  /** Each virtual user waits this long between its requests (0: closed loop). */
  pauseMs?: number;
  /** Concurrencies of the full run. */
  concurrency: number[];
  /**
   * An image of this many bytes rides along as a data URL: measured by attachment.ts on
   * kimi-proxy alone (the native variants have no data URLs), not in the load phases.
   */
  attachmentBytes?: number;
}

const SHORT_REPLY = 'The quick brown fox jumps over the lazy dog.';

/** `w1 w2 … wN`, the emulator's reply to `deltas=N` without `reply=`. */
export function counted(n: number): string {
  let s = '';
  for (let k = 1; k <= n; k++) s += k < n ? `w${k} ` : `w${k}`;
  return s;
}

export const WORKLOAD_TABLE = {
  nonstream: {
    label: 'non-stream, short answer',
    prompt: `[[emu reply="${SHORT_REPLY}" writes=event]] Answer in one sentence.`,
    expected: SHORT_REPLY,
    stream: false,
    concurrency: [1, 16],
  },
  lowrate: {
    label: 'non-stream, one at a time, 20 ms apart',
    prompt: `[[emu reply="${SHORT_REPLY}" writes=event]] Answer in one sentence.`,
    expected: SHORT_REPLY,
    stream: false,
    pauseMs: 20,
    concurrency: [1],
  },
  stream200: {
    label: 'stream, 200 deltas',
    prompt: '[[emu deltas=200 writes=event]] Count to two hundred.',
    expected: counted(200),
    stream: true,
    concurrency: [1, 16, 256],
  },
  stream5000: {
    label: 'stream, 5,000 deltas',
    prompt: '[[emu deltas=5000 writes=event]] Count to five thousand.',
    expected: counted(5000),
    stream: true,
    concurrency: [1, 16],
  },
  tools200: {
    label: 'stream, 200 deltas, 14 tools',
    prompt: '[[emu deltas=200 writes=event]] Count to two hundred.',
    expected: counted(200),
    stream: true,
    requestExtra: { tools: AGENT_TOOLS },
    concurrency: [1, 16],
  },
  messages200: {
    label: 'stream, 200 deltas, Anthropic Messages door',
    prompt: '[[emu deltas=200 writes=event]] Count to two hundred.',
    expected: counted(200),
    stream: true,
    door: ANTHROPIC_MESSAGES,
    concurrency: [1, 16],
  },
  responses200: {
    label: 'stream, 200 deltas, Responses door',
    prompt: '[[emu deltas=200 writes=event]] Count to two hundred.',
    expected: counted(200),
    stream: true,
    door: OPENAI_RESPONSES,
    concurrency: [1, 16],
  },
  stateful: {
    label: 'stateful turns (stream)',
    prompt: '[[emu turn writes=event]]',
    expected: '',
    stream: true,
    stateful: true,
    concurrency: [1, 16],
  },
  image10mb: {
    label: 'a 10 MiB image as a data URL, then re-sent (upload cache)',
    prompt: '[[emu files writes=event]] What is in this picture?',
    // Checked against the generated image's own size and SHA-256 (attachment.ts).
    expected: 'Files: image-1.png (image/png, N bytes, sha256 HEX).',
    stream: false,
    concurrency: [1],
    attachmentBytes: 10 * 1024 * 1024,
  },
  batched200: {
    label: 'stream, 200 deltas, batched writes',
    prompt: '[[emu deltas=200]] Count to two hundred.',
    expected: counted(200),
    stream: true,
    concurrency: [1, 16],
  },
  // Last of the load workloads: collecting what its 300 streams leave behind would otherwise be
  // charged to the workload measured after it.
  paced: {
    label: 'stream, 80 deltas at 40/s',
    prompt: '[[emu deltas=80 delay=25 writes=event]] Count to eighty, slowly.',
    expected: counted(80),
    stream: true,
    concurrency: [300],
  },
} satisfies Record<string, Workload>;

export type WorkloadName = keyof typeof WORKLOAD_TABLE;
export const WORKLOADS = Object.keys(WORKLOAD_TABLE) as WorkloadName[];

export function workload(name: WorkloadName): Workload {
  return WORKLOAD_TABLE[name];
}

/** Workloads of the load phases (every variant), as opposed to the attachment ones. */
export const isLoadWorkload = (name: WorkloadName): boolean => workload(name).attachmentBytes === undefined;
