/**
 * The optional config file (YAML or JSON, `CONFIG_FILE`): the same keys as the environment
 * variables, plus an `accounts:` list with per-account settings. Lists may be written as
 * YAML/JSON arrays. Values from the environment win over the file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config.js';

export interface ConfigFileContents {
  /** Settings as environment-style strings. */
  env: Record<string, string>;
  /** The raw `accounts:` list (validated by loadConfig). */
  accounts?: unknown;
}

export function readConfigFile(path: string): ConfigFileContents {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE: cannot read "${path}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  return parseConfigFile(text, path);
}

export function parseConfigFile(text: string, path = 'config file'): ConfigFileContents {
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (raw === null || raw === undefined) return { env: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`CONFIG_FILE: ${path} must contain a mapping of settings`]);
  const env: Record<string, string> = {};
  const problems: string[] = [];
  let accounts: unknown;
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'accounts') {
      accounts = value;
      continue;
    }
    const name = key.toUpperCase();
    if (Array.isArray(value)) env[name] = value.map(String).join(',');
    else if (['string', 'number', 'boolean'].includes(typeof value)) env[name] = String(value);
    else if (value !== null) problems.push(`${key}: expected a string, number, boolean or list`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return accounts === undefined ? { env } : { env, accounts };
}
