#!/usr/bin/env node
/** `kimi-proxy [serve|demo|emulator|check|help] [--port N] [--host H]` */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AccountsConfigError } from './accounts/accounts-config.js';
import { StartError } from './cli/start-error.js';
import { ConfigError } from './config/config.js';
import { TokenCipherError } from './store/token-cipher.js';
import { VERSION } from './version.js';

const USAGE = `kimi-proxy ${VERSION}

Usage: kimi-proxy [command] [options]

Commands:
  serve       run the proxy (default); configure with environment variables, .env or CONFIG_FILE
  demo        run the proxy against the built-in Kimi emulator (no Kimi account needed; nothing is stored)
  emulator    run only the Kimi web emulator
  check       validate every configured Kimi account against Kimi; exits 1 when one fails
  help        show this help
Options:
  --port N    listen port (serve/demo: PORT, default 8000; emulator: default 9000)
  --host H    listen address (default 127.0.0.1)
  -h, --help  show this help
  --version   print the version
`;

const COMMANDS = ['serve', 'demo', 'emulator', 'check', 'help'] as const;

/** A command line this program does not understand: the problem, the usage, exit 2. */
class UsageError extends Error {}

interface Invocation {
  command: (typeof COMMANDS)[number];
  port?: string;
  host?: string;
  version: boolean;
}

function parseCommandLine(argv: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    });
  } catch (err) {
    // node:util's messages are short and name the option; its hints mention code, not this CLI.
    throw new UsageError((err as Error).message.split('. To specify')[0]!);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"`);
  const given = positionals[0] ?? 'serve';
  if (!(COMMANDS as readonly string[]).includes(given)) throw new UsageError(`Unknown command "${given}"`);
  if (values.port !== undefined && !(/^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535)) {
    throw new UsageError(`--port: expected an integer from 0 to 65535, got ${JSON.stringify(values.port)}`);
  }
  if (values.host !== undefined && values.host.trim() === '') throw new UsageError('--host: expected an address, got ""');
  return {
    command: values.help ? 'help' : (given as Invocation['command']),
    ...(values.port !== undefined ? { port: values.port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    version: values.version === true,
  };
}

async function main(): Promise<void> {
  const inv = parseCommandLine(process.argv.slice(2));
  if (inv.command === 'help') return void process.stdout.write(USAGE);
  if (inv.version) return void console.log(VERSION);
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Loaded only now, so that the usage and its errors answer at once.
  const [{ installBenchProbe }, { demo, emulatorOnly }, { check, serve }] = await Promise.all([import('./bench-probe.js'), import('./cli/demo.js'), import('./cli/serve.js')]);
  // Diagnostics hook for benchmarks: inert unless BENCH_REPORT_IPC=1 and started with an IPC channel.
  installBenchProbe();
  const env = { ...process.env };
  switch (inv.command) {
    case 'serve':
      return serve({ ...env, ...(inv.port ? { PORT: inv.port } : {}), ...(inv.host ? { HOST: inv.host } : {}) });
    case 'demo':
      return demo(env, inv.port, inv.host);
    case 'emulator':
      return emulatorOnly(inv.port, inv.host);
    case 'check':
      return process.exit(await check(env));
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  // Problems the operator can fix are one clear message, never a stack trace.
  if (err instanceof ConfigError || err instanceof AccountsConfigError || err instanceof StartError || err instanceof TokenCipherError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
