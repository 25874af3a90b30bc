/**
 * A tools array of the size and shape a coding agent sends with every request: 14 tools,
 * long descriptions, nested and enumerated parameters (about 35 KB of JSON). Written for the
 * benchmark; no client's own texts.
 */

const prose = (topic: string, chars: number): string => {
  const sentences = [
    `Use this tool to ${topic}.`,
    'Prefer it over shell commands that do the same, because its output is structured and bounded.',
    'Paths are absolute; relative paths are resolved against the workspace root and rejected when they leave it.',
    'Large results are truncated and say so; ask again with a narrower range instead of repeating the call.',
    'Never use it to read secrets, credentials or files outside the project unless the user asked for that explicitly.',
    'When several independent calls are needed, issue them in the same response so that they run in parallel.',
  ];
  let out = '';
  for (let i = 0; out.length < chars; i++) out += `${sentences[i % sentences.length]} `;
  return out.slice(0, chars).trim();
};

type Schema = Record<string, unknown>;
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string): Schema => ({ type: 'integer', description, minimum: 0 });
const bool = (description: string): Schema => ({ type: 'boolean', description });

function tool(name: string, topic: string, chars: number, properties: Record<string, Schema>, required: string[]): Record<string, unknown> {
  return {
    type: 'function',
    function: { name, description: prose(topic, chars), parameters: { type: 'object', properties, required, additionalProperties: false } },
  };
}

export const AGENT_TOOLS: ReadonlyArray<Record<string, unknown>> = [
  tool('read_file', 'read a text file, or a range of its lines', 3_000, { file_path: str('Absolute path of the file.'), offset: int('First line to read (0-based).'), limit: int('Number of lines to read.') }, ['file_path']),
  tool('write_file', 'create a file or replace its whole content', 2_400, { file_path: str('Absolute path of the file.'), content: str('The full new content.') }, ['file_path', 'content']),
  tool('edit', 'replace one exact occurrence of a text in a file', 3_600, { file_path: str('Absolute path.'), old_string: str('Exact text to replace, with enough context to be unique.'), new_string: str('The replacement.'), replace_all: bool('Replace every occurrence.') }, ['file_path', 'old_string', 'new_string']),
  tool('glob', 'find files by name pattern', 1_800, { pattern: str('A glob such as src/**/*.ts.'), path: str('Directory to search in.') }, ['pattern']),
  tool('grep_search', 'search file contents with a regular expression', 2_800, { pattern: str('Regular expression.'), path: str('File or directory.'), glob: str('Only files matching this glob.'), output_mode: str('What to return.', { enum: ['content', 'files_with_matches', 'count'] }), context: int('Lines of context around each match.'), case_insensitive: bool('Ignore case.') }, ['pattern']),
  tool('run_shell_command', 'run a shell command in the workspace', 4_200, { command: str('The command line.'), description: str('One sentence on what it does and why.'), timeout_ms: int('Stop it after this many milliseconds.'), run_in_background: bool('Do not wait for it to end.') }, ['command']),
  tool('list_directory', 'list the entries of a directory', 1_500, { path: str('Absolute path.'), ignore: { type: 'array', items: { type: 'string' }, description: 'Glob patterns to leave out.' } }, ['path']),
  tool('web_fetch', 'fetch a web page and answer a question about it', 2_200, { url: str('The URL.', { format: 'uri' }), prompt: str('What to extract from the page.') }, ['url', 'prompt']),
  tool('web_search', 'search the web for current information', 1_900, { query: str('The search query.'), allowed_domains: { type: 'array', items: { type: 'string' } }, blocked_domains: { type: 'array', items: { type: 'string' } } }, ['query']),
  tool('todo_write', 'keep a structured task list for the current session', 3_400, {
    todos: {
      type: 'array',
      items: { type: 'object', properties: { id: str('Stable id.'), content: str('What to do.'), status: str('Progress.', { enum: ['pending', 'in_progress', 'completed'] }), priority: str('Priority.', { enum: ['high', 'medium', 'low'] }) }, required: ['id', 'content', 'status'] },
    },
  }, ['todos']),
  tool('notebook_edit', 'replace, insert or delete a cell of a Jupyter notebook', 1_700, { notebook_path: str('Absolute path.'), cell_id: str('Id of the cell.'), new_source: str('New cell source.'), cell_type: str('Cell type.', { enum: ['code', 'markdown'] }), edit_mode: str('Operation.', { enum: ['replace', 'insert', 'delete'] }) }, ['notebook_path', 'new_source']),
  tool('task', 'hand a self-contained task to a sub-agent and get its report', 3_900, { description: str('Three to five words.'), prompt: str('The full task.'), subagent_type: str('Which agent.', { enum: ['general', 'explore', 'review'] }) }, ['description', 'prompt']),
  tool('ask_user', 'ask the user a question with a few choices', 1_600, { question: str('The question.'), options: { type: 'array', items: { type: 'object', properties: { label: str('Short label.'), description: str('What choosing it means.') }, required: ['label'] }, minItems: 2, maxItems: 4 } }, ['question', 'options']),
  tool('save_memory', 'remember a fact about the user or project for later sessions', 1_400, { fact: str('One self-contained statement.'), scope: str('Where it applies.', { enum: ['project', 'global'] }) }, ['fact']),
];
