// Reading what each CLI prints in its machine-readable output mode.

/** Qwen Code `--output-format json`: one JSON array of events; the last `result` event holds the answer. */
export function qwenResult(stdout: string): { result?: string; is_error?: boolean } | undefined {
  const start = stdout.indexOf('[');
  if (start < 0) return undefined;
  const events = JSON.parse(stdout.slice(start)) as { type?: string; result?: string; is_error?: boolean }[];
  return events.filter((e) => e.type === 'result').at(-1);
}

/** JSON Lines output (opencode `--format json`, Claude Code `stream-json`, Codex `--json`), unparsable lines skipped. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by the client's own logging is not an event.
    }
  }
  return out;
}

/** The text parts opencode printed, in order. */
export function opencodeTexts(stdout: string): string[] {
  return jsonLines(stdout)
    .filter((e) => e.type === 'text')
    .map((e) => String((e.part as { text?: unknown } | undefined)?.text ?? ''));
}

/** The final `result` event of Claude Code's `--output-format stream-json`. */
export function claudeResult(stdout: string): { result?: string; is_error?: boolean; subtype?: string } | undefined {
  return jsonLines(stdout)
    .filter((e) => e.type === 'result')
    .at(-1) as { result?: string; is_error?: boolean; subtype?: string } | undefined;
}

/** The agent messages of Codex `exec --json` (`item.completed` events of type `agent_message`). */
export function codexMessages(stdout: string): string[] {
  return jsonLines(stdout)
    .filter((e) => e.type === 'item.completed')
    .map((e) => e.item as { type?: string; text?: string } | undefined)
    .filter((item) => item?.type === 'agent_message')
    .map((item) => String(item?.text ?? ''));
}
