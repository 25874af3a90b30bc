/**
 * A large image sent as a data URL through kimi-proxy (an `attachment` workload of
 * workloads.ts). Two questions, on a freshly started proxy per protocol:
 *
 * - Memory: how far the process grows while it takes the first request carrying the image
 *   (decode, type, hash, upload to the emulator), against the file's size. RSS is read through
 *   the bench probe every few milliseconds during the request and from the kernel's peak
 *   (`maxRSS`), whichever is higher; the JS heap and the ArrayBuffer memory (where decoded
 *   bytes live) are sampled the same way. Before: after a full GC, with the code paths warm.
 * - CPU: the same request again (the upload cache answers: nothing is uploaded) against a
 *   text-only request of the same shape (the same door, prompt and reply, without the image
 *   part), in alternating batches one request at a time, CPU read from the process before and
 *   after each batch.
 *
 * Beside them, the generator times the work no proxy can skip for such a request, on the same
 * body: JSON.parse, base64 decode and SHA-256 (the cache key). Every reply is checked: the
 * emulator's `files` directive names what Kimi received (name, type, size, SHA-256), so the
 * bytes are proven to arrive intact, and its upload counter proves the re-sends hit the cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulatorChild, startProxyChild, type Child, type ProbeSample } from './children.js';
import { makePool } from './load.js';
import { rawRequest } from './raw-http.js';
import { percentile } from './stats.js';
import { readOpenAICompletion, type Protocol } from './wire.js';
import { workload as workloadOf, type WorkloadName } from './workloads.js';

export interface AttachmentResult {
  protocol: Protocol;
  workload: WorkloadName;
  imageBytes: number;
  bodyBytes: number;
  /** The first request (decoded, hashed, uploaded). */
  firstMs: number;
  rssBefore: number;
  /** Highest RSS seen during the first request (probe samples and the kernel's peak). */
  rssPeak: number;
  heapBefore: number;
  heapPeak: number;
  arrayBuffersBefore: number;
  arrayBuffersPeak: number;
  /** RSS and live heap after the request and a full GC: what stays. */
  rssAfterGc: number;
  heapAfterGc: number;
  probeSamples: number;
  /** CPU ms per request of each batch. */
  textCpuMs: number[];
  imageCpuMs: number[];
  /** Median wall time of one request of each kind. */
  textMs: number;
  imageMs: number;
  /** Uploads the emulator counted during the re-sends (0 when every one hit the cache). */
  resendUploads: number;
  /** The generator's own time for the work no proxy can skip, ms (median of 5). */
  floor: { parseMs: number; decodeMs: number; hashMs: number };
  errors: number;
  errorMessages: string[];
}

export interface AttachmentOptions {
  rounds: number;
  /** Requests per batch. */
  batch: number;
}

const API_KEY = 'sk-bench-attachment-0123456789';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.byteLength, 0);
  head.write(type, 4, 'ascii');
  // The CRC is left zero: kimi-proxy types files from their signature and never decodes pixels.
  return Buffer.concat([head, data, Buffer.alloc(4)]);
}

/** A PNG-typed file of exactly `size` bytes whose pixel data is random (incompressible, as a photo is). */
export function bigPng(size: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2048, 0);
  ihdr.writeUInt32BE(1280, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const fixed = PNG_SIGNATURE.byteLength + (12 + 13) + 12 + 12;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', randomBytes(size - fixed)), pngChunk('IEND', Buffer.alloc(0))]);
}

function chatBody(prompt: string, image: Buffer | undefined): Buffer {
  const content: unknown[] = [{ type: 'text', text: prompt }];
  if (image) content.push({ type: 'image_url', image_url: { url: `data:image/png;base64,${image.toString('base64')}` } });
  return Buffer.from(JSON.stringify({ model: 'k2', stream: false, messages: [{ role: 'user', content }] }));
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const expectedFiles = (image: Buffer | undefined): string => (image ? `Files: image-1.png (image/png, ${image.byteLength} bytes, sha256 ${sha256(image)}).` : 'Files: none.');

function median(values: number[]): number {
  return percentile(values, 50);
}

/** Times `fn` five times; the median, ms. */
function timeIt(fn: () => unknown): number {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    fn();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

function floorOf(body: Buffer): AttachmentResult['floor'] {
  const text = body.toString('utf8');
  const parsed = JSON.parse(text) as { messages: Array<{ content: Array<{ image_url?: { url: string } }> }> };
  const url = parsed.messages[0]!.content[1]!.image_url!.url;
  const b64 = url.slice(url.indexOf(',') + 1);
  const bytes = Buffer.from(b64, 'base64');
  return {
    parseMs: timeIt(() => JSON.parse(text)),
    decodeMs: timeIt(() => Buffer.from(b64, 'base64')),
    hashMs: timeIt(() => sha256(bytes)),
  };
}

const cpuMs = (a: ProbeSample, b: ProbeSample): number => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;

async function uploadsSoFar(emulatorUrl: string): Promise<number> {
  const stats = (await (await fetch(`${emulatorUrl}/__emulator/stats`)).json()) as { filesUploaded: number };
  return stats.filesUploaded;
}

/** Samples the child's memory every few ms until stopped; keeps the highest readings. */
function memorySampler(child: Child): { stop(): Promise<{ rss: number; heap: number; arrayBuffers: number; samples: number }> } {
  const peak = { rss: 0, heap: 0, arrayBuffers: 0, samples: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await child.probe('sample').catch(() => undefined);
      if (s) {
        peak.rss = Math.max(peak.rss, s.rss);
        peak.heap = Math.max(peak.heap, s.heapUsed);
        peak.arrayBuffers = Math.max(peak.arrayBuffers, s.arrayBuffers ?? 0);
        peak.samples++;
      }
      await sleep(2);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

export async function measureAttachment(protocol: Protocol, name: WorkloadName, o: AttachmentOptions): Promise<AttachmentResult> {
  const spec = workloadOf(name);
  const image = bigPng(spec.attachmentBytes ?? 0);
  const imageBody = chatBody(spec.prompt, image);
  const textBody = chatBody(spec.prompt, undefined);
  const emulator = await startEmulatorChild();
  const proxy = await startProxyChild({
    upstream: emulator.url,
    protocol,
    tokens: [`bench-attachment-${protocol}-${process.pid}`],
    apiKey: API_KEY,
    // The default body limit leaves room for one image at the image cap (20 MiB) inline.
    maxConcurrent: 4,
  });
  const pool = makePool(proxy.url, 2);
  const errorMessages: string[] = [];
  let errors = 0;
  const ask = async (body: Buffer, expected: string): Promise<number> => {
    const t0 = performance.now();
    const r = await rawRequest(pool, { origin: proxy.url, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body }, { keepBody: true, signal: AbortSignal.timeout(120_000) });
    const ms = performance.now() - t0;
    const reply = r.status === 200 ? readOpenAICompletion(r.body!) : { text: '', complete: false, error: `HTTP ${r.status} ${r.body?.toString('utf8').slice(0, 200)}` };
    if (reply.error || !reply.complete || reply.text !== expected) {
      errors++;
      if (errorMessages.length < 5) errorMessages.push(reply.error ?? `unexpected reply ${JSON.stringify(reply.text.slice(0, 120))}`);
    }
    return ms;
  };
  try {
    const child = proxy.child;
    // Warm the code paths (text turn, a small image's decode, type, hash and upload) before measuring.
    const small = bigPng(64 * 1024);
    for (let i = 0; i < 3; i++) await ask(textBody, expectedFiles(undefined));
    await ask(chatBody(spec.prompt, small), expectedFiles(small));
    await sleep(200);
    const before = await child.probe('gc');
    const sampler = memorySampler(child);
    const firstMs = await ask(imageBody, expectedFiles(image));
    const peak = await sampler.stop();
    const after = await child.probe('sample');
    // The kernel's high-water mark counts only when it rose during the request (else the peak was earlier, at start-up).
    const kernelPeak = after.maxRss > before.maxRss ? after.maxRss : 0;
    await sleep(200);
    const afterGc = await child.probe('gc');

    const uploadsBefore = await uploadsSoFar(emulator.url);
    const textCpuMs: number[] = [];
    const imageCpuMs: number[] = [];
    const textTimes: number[] = [];
    const imageTimes: number[] = [];
    const batch = async (body: Buffer, expected: string, cpuOut: number[], times: number[]): Promise<void> => {
      const a = await child.probe('sample');
      for (let i = 0; i < o.batch; i++) times.push(await ask(body, expected));
      // Background chat deletions of the batch finish before the CPU is read.
      await sleep(50);
      const b = await child.probe('sample');
      cpuOut.push(cpuMs(a, b) / o.batch);
    };
    for (let round = 0; round < o.rounds; round++) {
      const textFirst = round % 2 === 0;
      for (const kind of textFirst ? ['text', 'image'] : ['image', 'text']) {
        if (kind === 'text') await batch(textBody, expectedFiles(undefined), textCpuMs, textTimes);
        else await batch(imageBody, expectedFiles(image), imageCpuMs, imageTimes);
      }
    }
    const resendUploads = (await uploadsSoFar(emulator.url)) - uploadsBefore;
    if (resendUploads !== 0) {
      errors++;
      errorMessages.push(`the re-sent image was uploaded ${resendUploads} more time(s): the upload cache missed`);
    }
    return {
      protocol,
      workload: name,
      imageBytes: image.byteLength,
      bodyBytes: imageBody.byteLength,
      firstMs,
      rssBefore: before.rss,
      rssPeak: Math.max(peak.rss, after.rss, kernelPeak),
      heapBefore: before.heapUsed,
      heapPeak: Math.max(peak.heap, after.heapUsed),
      arrayBuffersBefore: before.arrayBuffers ?? 0,
      arrayBuffersPeak: Math.max(peak.arrayBuffers, after.arrayBuffers ?? 0),
      rssAfterGc: afterGc.rss,
      heapAfterGc: afterGc.heapUsed,
      probeSamples: peak.samples,
      textCpuMs,
      imageCpuMs,
      textMs: median(textTimes),
      imageMs: median(imageTimes),
      resendUploads,
      floor: floorOf(imageBody),
      errors,
      errorMessages,
    };
  } finally {
    await pool.destroy().catch(() => undefined);
    await proxy.child.stop();
    await emulator.child.stop();
  }
}
