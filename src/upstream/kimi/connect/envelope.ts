/**
 * Connect-RPC envelope framing (spec B.3): 1 flag byte + 4-byte big-endian payload length
 * + payload. Used for the streaming `ChatService/Chat` call in both directions.
 */
import { ProxyError } from '../../../core/errors.js';

export const FLAG_DATA = 0x00;
export const FLAG_COMPRESSED = 0x01;
export const FLAG_END_STREAM = 0x02;

export const ENVELOPE_HEADER_BYTES = 5;

/** Frames one payload. */
export function encodeEnvelope(flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + payload.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.byteLength, false);
  out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

const encoder = new TextEncoder();

/** Frames a JSON value as a data (0x00) or end-of-stream (0x02) envelope. */
export function encodeJsonEnvelope(value: unknown, flags: number = FLAG_DATA): Uint8Array {
  return encodeEnvelope(flags, encoder.encode(JSON.stringify(value)));
}

/** Default cap on one envelope's payload; Kimi's largest legitimate event is well under 1 KiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/**
 * The frame cap that agrees with a request body limit: Kimi echoes the user's message in one
 * frame, so every prompt a body of `maxBodyBytes` can carry must fit. Twice the body leaves
 * room for a history folded into the prompt and for escaping, plus 1 MiB for the frame's own
 * fields; never below the default.
 */
export function frameLimitFor(maxBodyBytes: number): number {
  return Math.max(DEFAULT_MAX_PAYLOAD_BYTES, 2 * maxBodyBytes + 1024 * 1024);
}

export interface DecodedEnvelope {
  flags: number;
  /**
   * The payload bytes. When a whole frame sits in one read this is a view of that read
   * (no copy); consume it before asking for the next envelope if the reads are reused.
   */
  payload: Uint8Array;
}

export interface DecodeEnvelopesOptions {
  /** Frames claiming a larger payload are rejected from their header, before any allocation. */
  maxPayloadBytes?: number | undefined;
}

function readUint32BE(b: Uint8Array, i: number): number {
  return b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}

function checkHeader(flags: number, length: number, max: number): void {
  if ((flags & FLAG_COMPRESSED) !== 0) {
    throw new ProxyError('upstream_protocol_error', 'Kimi sent a compressed Connect frame, but no compression was negotiated.', {
      upstreamCode: 'compressed_frame',
    });
  }
  if (length > max) {
    throw new ProxyError('upstream_protocol_error', `Kimi sent a Connect frame of ${length} bytes, over the ${max}-byte limit.`, {
      upstreamCode: 'frame_too_large',
    });
  }
}

/** Receives one frame: its flags and its payload, `bytes[start, end)`. */
export type FrameHandler = (flags: number, bytes: Uint8Array, start: number, end: number) => boolean | void;

/**
 * Synchronous envelope splitter: feed reads with `push`, receive each complete frame
 * through `onFrame` (a view into the read when the frame sits whole in it, else a copy
 * assembled across reads), and call `end` when the body finishes. Throws ProxyError on an
 * oversized length (checked from the header, before any allocation), the compressed flag,
 * or (from `end`) an incomplete final envelope. Used by `decodeEnvelopes` and by decoders
 * that want to handle every frame of a read without an await per frame.
 */
export class EnvelopeSplitter {
  private readonly header = new Uint8Array(ENVELOPE_HEADER_BYTES);
  private headerFill = 0;
  private flags = 0;
  /** Payload being assembled across reads. */
  private partial: Uint8Array | undefined;
  private partialFill = 0;
  private readonly max: number;

  constructor(maxPayloadBytes: number | undefined = DEFAULT_MAX_PAYLOAD_BYTES) {
    this.max = maxPayloadBytes;
  }

  /**
   * Splits one read. A frame's payload is `bytes[start, end)`: the read itself when the frame
   * sits whole in it (no view is made per frame), else a copy assembled across reads. Stops
   * early (returns false) when `onFrame` returns false.
   */
  push(chunk: Uint8Array, onFrame: FrameHandler): boolean {
    const n = chunk.byteLength;
    let off = 0;
    while (off < n) {
      const partial = this.partial;
      if (partial !== undefined) {
        const take = Math.min(partial.byteLength - this.partialFill, n - off);
        partial.set(chunk.subarray(off, off + take), this.partialFill);
        this.partialFill += take;
        off += take;
        if (this.partialFill === partial.byteLength) {
          this.partial = undefined;
          if (onFrame(this.flags, partial, 0, partial.byteLength) === false) return false;
        }
        continue;
      }

      let length: number;
      if (this.headerFill === 0 && n - off >= ENVELOPE_HEADER_BYTES) {
        this.flags = chunk[off]!;
        length = readUint32BE(chunk, off + 1);
        off += ENVELOPE_HEADER_BYTES;
      } else {
        const take = Math.min(ENVELOPE_HEADER_BYTES - this.headerFill, n - off);
        this.header.set(chunk.subarray(off, off + take), this.headerFill);
        this.headerFill += take;
        off += take;
        if (this.headerFill < ENVELOPE_HEADER_BYTES) break;
        this.headerFill = 0;
        this.flags = this.header[0]!;
        length = readUint32BE(this.header, 1);
      }
      checkHeader(this.flags, length, this.max);

      if (n - off >= length) {
        const start = off;
        off += length;
        if (onFrame(this.flags, chunk, start, off) === false) return false;
      } else {
        const payload = new Uint8Array(length);
        payload.set(chunk.subarray(off), 0);
        this.partial = payload;
        this.partialFill = n - off;
        off = n;
      }
    }
    return true;
  }

  /** The body ended: throws if it ended inside an envelope. */
  end(): void {
    if (this.headerFill > 0) {
      throw new ProxyError('upstream_protocol_error', 'Kimi stream ended inside a Connect frame header (truncated frame).', {
        upstreamCode: 'truncated_frame',
      });
    }
    if (this.partial !== undefined) {
      throw new ProxyError(
        'upstream_protocol_error',
        `Kimi stream ended inside a Connect frame (${this.partialFill} of ${this.partial.byteLength} payload bytes received).`,
        { upstreamCode: 'truncated_frame' },
      );
    }
  }
}

/**
 * Splits a Connect stream into envelopes (spec B.3). Frames may be split across reads or
 * share one read. An incomplete final envelope, an oversized length or the compressed flag
 * is an `upstream_protocol_error`. Interpreting the flags (data vs end-of-stream) is left
 * to the caller.
 */
export async function* decodeEnvelopes(
  body: AsyncIterable<Uint8Array>,
  opts: DecodeEnvelopesOptions = {},
): AsyncGenerator<DecodedEnvelope> {
  const splitter = new EnvelopeSplitter(opts.maxPayloadBytes);
  const ready: DecodedEnvelope[] = [];
  const collect = (flags: number, bytes: Uint8Array, start: number, end: number): void => {
    ready.push({ flags, payload: bytes.subarray(start, end) });
  };
  for await (const chunk of body) {
    let failure: unknown;
    let failed = false;
    try {
      splitter.push(chunk, collect);
    } catch (err) {
      failed = true;
      failure = err;
    }
    // Frames completed before an error in the same read are still delivered first.
    for (let i = 0; i < ready.length; i++) yield ready[i]!;
    ready.length = 0;
    if (failed) throw failure;
  }
  splitter.end();
}
