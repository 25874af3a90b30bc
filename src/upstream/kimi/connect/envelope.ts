/**
 * Connect-RPC envelope framing (spec B.3): 1 flag byte + 4-byte big-endian payload length
 * + payload. Used for the streaming `ChatService/Chat` call in both directions.
 */

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
