// A second egress check beside the proxy trap: `strace -f -e trace=connect` around a client lists
// every socket connection its processes attempt, including any that would ignore HTTP(S)_PROXY.
// Used when strace is installed (KP_AGENTS_STRACE=0 turns it off).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let available: boolean | undefined;

export function straceAvailable(): boolean {
  if (process.env.KP_AGENTS_STRACE === '0') return false;
  available ??= spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** The command line that runs `command` under strace, logging connect() calls to `log`. */
export function traced(log: string, command: string, args: string[]): [string, string[]] {
  return ['strace', ['-f', '-qq', '-e', 'trace=connect', '-o', log, command, ...args]];
}

const INET = /sa_family=AF_INET6?, [^}]*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")/;

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');
}

/** Every IP address a traced run tried to connect to that is not loopback (with its port). */
export function nonLoopbackConnects(log: string): string[] {
  if (!existsSync(log)) return [];
  const out: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('connect(')) continue;
    const m = INET.exec(line);
    const addr = m?.[1] ?? m?.[2];
    if (addr && !isLoopback(addr)) out.push(`${addr} ${/htons\((\d+)\)/.exec(line)?.[1] ?? '?'}`);
  }
  return out;
}
