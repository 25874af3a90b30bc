import { describe, expect, it } from 'vitest';
import { parseConfigFile } from './config-file.js';
import { bodyLimitFor, ConfigError, loadConfig } from './config.js';

function problemsOf(env: Record<string, string>, fileText?: string): string[] {
  try {
    loadConfig(env, fileText === undefined ? { env: {} } : parseConfigFile(fileText, 'kimi-proxy.yaml'));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration errors', () => {
  it('name the key, the allowed values and the offending value, in the same words for every kind', () => {
    const problems = problemsOf({
      LOG_LEVEL: 'loud',
      KIMI_PROTOCOL: 'grpc',
      CITATIONS: 'endnotes',
      REASONING_OUTPUT: 'xml',
      CONVERSATION_REUSE: 'always',
      ACCOUNT_SELECTION: 'random',
      DELETE_TEMP_CHATS: 'maybe',
      QUEUE_MAX: 'lots',
      KIMI_BASE_URL: 'ftp://kimi',
      CORS_ORIGINS: 'chat.example.com',
    });
    expect(problems).toEqual([
      'KIMI_BASE_URL: expected an http(s) URL, got "ftp://kimi"',
      'KIMI_PROTOCOL: expected connect, rest or auto, got "grpc"',
      'LOG_LEVEL: expected fatal, error, warn, info, debug, trace or silent, got "loud"',
      'DELETE_TEMP_CHATS: expected true or false, got "maybe"',
      'CITATIONS: expected list, footnotes or none, got "endnotes"',
      'REASONING_OUTPUT: expected reasoning_content, think_tags or none, got "xml"',
      'CONVERSATION_REUSE: expected auto or off, got "always"',
      'ACCOUNT_SELECTION: expected round-robin, least-in-flight or fill-first, got "random"',
      'QUEUE_MAX: expected an integer from 0 to 100000, got "lots"',
      'CORS_ORIGINS: expected "*" or a comma list of origins such as https://chat.example.com, got "chat.example.com"',
    ]);
  });

  it('never echo a secret', () => {
    const problems = problemsOf({ ADMIN_TOKEN: 'short-secret', DATA_KEY: 'tiny-key', KIMI_PROXY_URL: 'ftp://user:topsecret@host' });
    expect(problems.sort()).toEqual([
      'ADMIN_TOKEN: expected at least 16 characters (use a long random string), got 12 characters',
      'DATA_KEY: expected at least 16 characters (use a long random string), got 8 characters',
      'KIMI_PROXY_URL: expected an http(s):// or socks5:// proxy URL (the value is not shown: it may hold a password)',
    ]);
  });

  it('name the config file for its own values and accounts, not for values the environment overrides', () => {
    const file = ['CITATIONS: endnotes', 'LOG_LEVEL: loud', 'API_KEY: sk-typo', 'accounts:', '  - name: main', '    token: secret-token', '    maxConcurrent: 99', '    tokn: x'].join('\n');
    expect(problemsOf({ LOG_LEVEL: 'info' }, file)).toEqual([
      'kimi-proxy.yaml: CITATIONS: expected list, footnotes or none, got "endnotes"',
      'kimi-proxy.yaml: API_KEY: unknown setting (every setting is listed in docs/configuration.md)',
      'kimi-proxy.yaml: accounts[0].maxConcurrent: expected an integer from 1 to 64, got 99',
      'kimi-proxy.yaml: accounts[0]: unknown key tokn; expected name, token, weight, maxConcurrent, minIntervalMs, disabled, dailyRequests, proxyUrl',
    ]);
  });

  it('takes per-account settings from the file', () => {
    const config = loadConfig({}, parseConfigFile(['accounts:', '  - name: main', '    token: t1', '    weight: 2', '    maxConcurrent: 1', '    minIntervalMs: 0', '    proxyUrl: http://127.0.0.1:3128'].join('\n'), 'k.yaml'));
    expect(config.accounts.fromFile).toEqual([{ name: 'main', token: 't1', weight: 2, maxConcurrent: 1, minIntervalMs: 0, disabled: false, dailyRequests: 0, proxyUrl: 'http://127.0.0.1:3128' }]);
  });
});

describe('the request body limit', () => {
  const MiB = 1024 * 1024;
  /** The size of a chat request carrying one image of `bytes` as a data URL. */
  const inlineImageRequest = (bytes: number): number =>
    JSON.stringify({ model: 'k2', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,' } }] }] }).length +
    Math.ceil(bytes / 3) * 4;

  it('admits, unset, one image at the image cap sent inline, and follows that cap', () => {
    const limit = loadConfig({}).maxBodyBytes;
    expect(limit).toBe(bodyLimitFor(20 * MiB));
    expect(limit).toBeGreaterThanOrEqual(inlineImageRequest(20 * MiB));
    const raised = loadConfig({ ATTACHMENT_IMAGE_MAX_BYTES: String(40 * MiB) }).maxBodyBytes;
    expect(raised).toBeGreaterThanOrEqual(inlineImageRequest(40 * MiB));
    // A small image cap keeps the old floor.
    expect(loadConfig({ ATTACHMENT_IMAGE_MAX_BYTES: String(MiB) }).maxBodyBytes).toBe(10 * MiB);
  });

  it('is exactly MAX_BODY_BYTES when set', () => {
    expect(loadConfig({ MAX_BODY_BYTES: '65536' }).maxBodyBytes).toBe(65536);
    expect(problemsOf({ MAX_BODY_BYTES: '12' })).toEqual(['MAX_BODY_BYTES: expected an integer from 1024 to 1073741824, got "12"']);
  });
});
