/**
 * The optional config file (YAML or JSON, `CONFIG_FILE`): the same keys as the environment
 * variables, plus an `accounts:` list with per-account settings. Lists may be written as
 * YAML/JSON arrays. Values from the environment win over the file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config.js';

export interface ConfigFileContents {
  /** The file's path, named in every problem found in it. */
  path?: string;
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
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'error');
    throw new ConfigError([`CONFIG_FILE: cannot read ${path}: ${why}`]);
  }
  return parseConfigFile(text, path);
}

export function parseConfigFile(text: string, path = 'config file'): ConfigFileContents {
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]!.replace(/:\s*$/, '')}`]);
  }
  if (raw === null || raw === undefined) return { path, env: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${path}: expected a mapping of settings (KEY: value), got ${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`}`]);
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
    else if (value !== null) problems.push(`${path}: ${key}: expected a string, number, boolean or list, got a mapping`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return accounts === undefined ? { path, env } : { path, env, accounts };
}
