/** Counters and the recent-request ring buffer behind `stats()`. */
import type { EmulatorStats, RecentRequest } from './types.js';

/** Headers worth seeing in tests; authorization, cookies and shield data never are. */
const LOGGED_HEADERS = [
  'content-type',
  'accept',
  'connect-protocol-version',
  'x-msh-platform',
  'x-msh-device-id',
  'x-msh-session-id',
  'x-msh-version',
  'x-traffic-id',
  'x-language',
  'r-timezone',
  'origin',
  'referer',
  'user-agent',
];

export function selectHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function bump(record: Record<string, number>, key: string, by = 1): number {
  const next = (record[key] ?? 0) + by;
  record[key] = next;
  return next;
}

export interface StreamHandle {
  /** Ends the stream's accounting once; later calls are ignored. */
  end(cancelled: boolean): void;
}

export class StatsRecorder {
  private counters = StatsRecorder.zero();
  private recent: RecentRequest[] = [];

  constructor(private readonly maxLogged: number) {}

  private static zero(): Omit<EmulatorStats, 'liveChats' | 'recentRequests'> {
    return {
      chatsCreated: 0,
      chatsDeleted: 0,
      filesUploaded: 0,
      streamsStarted: 0,
      streamsCompleted: 0,
      streamsCancelled: 0,
      openStreams: 0,
      maxOpenStreams: 0,
      requestsByAccount: {},
      openStreamsByAccount: {},
      maxOpenStreamsByAccount: {},
      refreshes: {},
      requestsByPath: {},
    };
  }

  reset(): void {
    // Streams still running keep their accounting consistent by re-entering the fresh counters.
    const open = this.counters.openStreams;
    const openByAccount = this.counters.openStreamsByAccount;
    this.counters = StatsRecorder.zero();
    this.counters.openStreams = open;
    this.counters.maxOpenStreams = open;
    this.counters.openStreamsByAccount = openByAccount;
    this.counters.maxOpenStreamsByAccount = { ...openByAccount };
    this.recent = [];
  }

  request(entry: RecentRequest, accountKey: string | undefined): void {
    bump(this.counters.requestsByPath, entry.path);
    if (accountKey !== undefined) bump(this.counters.requestsByAccount, accountKey);
    if (this.maxLogged <= 0) return;
    this.recent.push(entry);
    if (this.recent.length > this.maxLogged) this.recent.splice(0, this.recent.length - this.maxLogged);
  }

  refresh(accountKey: string): void {
    bump(this.counters.refreshes, accountKey);
  }

  chatCreated(): void {
    this.counters.chatsCreated++;
  }

  /** A file stored by either upload flow (a re-upload of the same bytes counts again). */
  fileUploaded(): void {
    this.counters.filesUploaded++;
  }

  chatDeleted(): void {
    this.counters.chatsDeleted++;
  }

  openStreamsFor(accountKey: string): number {
    return this.counters.openStreamsByAccount[accountKey] ?? 0;
  }

  streamStarted(accountKey: string): StreamHandle {
    const c = this.counters;
    c.streamsStarted++;
    c.openStreams++;
    c.maxOpenStreams = Math.max(c.maxOpenStreams, c.openStreams);
    const open = bump(c.openStreamsByAccount, accountKey);
    c.maxOpenStreamsByAccount[accountKey] = Math.max(c.maxOpenStreamsByAccount[accountKey] ?? 0, open);
    let ended = false;
    return {
      end: (cancelled) => {
        if (ended) return;
        ended = true;
        const now = this.counters;
        if (cancelled) now.streamsCancelled++;
        else now.streamsCompleted++;
        now.openStreams = Math.max(0, now.openStreams - 1);
        const left = bump(now.openStreamsByAccount, accountKey, -1);
        if (left <= 0) delete now.openStreamsByAccount[accountKey];
      },
    };
  }

  snapshot(liveChats: number): EmulatorStats {
    const c = this.counters;
    return {
      ...c,
      liveChats,
      requestsByAccount: { ...c.requestsByAccount },
      openStreamsByAccount: { ...c.openStreamsByAccount },
      maxOpenStreamsByAccount: { ...c.maxOpenStreamsByAccount },
      refreshes: { ...c.refreshes },
      requestsByPath: { ...c.requestsByPath },
      recentRequests: this.recent.map((r) => ({ ...r, headers: { ...r.headers } })),
    };
  }
}
