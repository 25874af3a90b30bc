// Directives that script the built-in Kimi emulator's answer (src/emulator/README.md), written so
// that they survive an agent's wrapping of the prompt: no spaces or quotes inside values.

/** The model "decides" to call `name` with `args` (base64url JSON, so quoting and escaping cannot break it). */
export function callDirective(name: string, args: Record<string, unknown>): string {
  return `[[emu call=${name} args64=${Buffer.from(JSON.stringify(args), 'utf8').toString('base64url')}]]`;
}
