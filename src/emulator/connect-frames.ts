/** Connect stream frames (spec B.5): event envelopes with `eventOffset` increasing from 1. */
import { encodeJsonEnvelope, FLAG_DATA, FLAG_END_STREAM } from '../upstream/kimi/connect/envelope.js';
import type { SearchResult } from './reply-plan.js';

export interface ConnectError {
  code: string;
  message?: string;
  details?: { type: string; value: string; debug: { reason: string } }[];
}

export class ConnectFrames {
  private offset = 0;
  private blockSeq = 0;

  /** Stream block ids are small strings such as "1", "2" (spec 1.4). */
  nextBlockId(): string {
    return String(++this.blockSeq);
  }

  heartbeat(): Uint8Array {
    return encodeJsonEnvelope({ heartbeat: {} });
  }

  /** An `op`/`mask` event; the payload holds exactly one of `chat`, `message`, `block`. */
  event(op: 'set' | 'append', mask: string, payload: Record<string, unknown>): Uint8Array {
    return encodeJsonEnvelope({ op, mask, eventOffset: ++this.offset, ...payload });
  }

  /** A top-level marker such as `done` or `exception`, numbered like events. */
  marker(payload: Record<string, unknown>): Uint8Array {
    return encodeJsonEnvelope({ eventOffset: ++this.offset, ...payload });
  }

  /** An in-stream `{"error":{...}}` data frame (spec B.11). */
  error(error: ConnectError): Uint8Array {
    return encodeJsonEnvelope({ error }, FLAG_DATA);
  }

  /** The 0x02 end-of-stream trailer: `{}` on success, `{"error":{...}}` on failure. */
  trailer(error?: ConnectError): Uint8Array {
    return encodeJsonEnvelope(error ? { error } : {}, FLAG_END_STREAM);
  }
}

/** 2025 `block.search.webPages` entry. */
export function webPage(r: SearchResult): Record<string, unknown> {
  return {
    title: r.title,
    url: r.url,
    siteName: r.siteName,
    iconUrl: `https://${r.siteName}/favicon.ico`,
    snippet: r.snippet,
    publishTime: r.publishTime,
    siteQuality: {},
  };
}

/** 2026 `searchResult` as carried by `block.tool.contents` and `message.refs.searchChunks`. */
export function searchChunk(r: SearchResult): Record<string, unknown> {
  return {
    searchResult: {
      id: `search_${r.index}`,
      base: { title: r.title, url: r.url, siteName: r.siteName, iconUrl: `https://${r.siteName}/favicon.ico`, snippet: r.snippet, publishTime: r.publishTime },
      refIndex: r.refIndex,
    },
  };
}

export function connectErrorDetails(code: string, reason: string): ConnectError {
  return {
    code,
    message: `emulated ${code}`,
    details: [{ type: 'emulator.ErrorInfo', value: '', debug: { reason } }],
  };
}
