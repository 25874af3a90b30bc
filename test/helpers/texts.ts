/** Emulator directives and deterministic reply texts for exact-text assertions. */

/** Quotes a value for a `[[emu key="…"]]` directive (the parser understands \" and \\). */
export function quoteDirective(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `[[emu reply="…" key=value …]]`: the emulator answers exactly `reply`. */
export function emuReply(reply: string, extra: Record<string, string | number | true> = {}): string {
  const parts = [`reply=${quoteDirective(reply)}`];
  for (const [key, value] of Object.entries(extra)) {
    parts.push(value === true ? key : typeof value === 'number' ? `${key}=${value}` : `${key}=${quoteDirective(value)}`);
  }
  return `[[emu ${parts.join(' ')}]]`;
}

/** The answer of `[[emu deltas=N]]` without a reply: `w1 w2 … wN`. */
export function numberedWords(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
}

/** Texts that break naive streaming code: multi-byte UTF-8, surrogate pairs, grapheme clusters. */
export const UNICODE_SAMPLES = {
  cjk: '你好，世界！这是一个测试：中文、日本語のテキスト、한국어 문장。全角符号「引号」《书名》……结束。',
  emoji: 'Faces 😀😃😄, hands 👋🏻👋🏼👋🏽👋🏾👋🏿, families 👨‍👩‍👧‍👦 👩‍👩‍👦, flags 🇨🇳🇯🇵🇺🇳, jobs 👩🏽‍💻 🧑🏿‍🚀, hearts ❤️‍🔥 ❤️ ♥︎, keycap 1️⃣ #️⃣.',
  combining: 'Cafe\u0301, nai\u0308ve, Z\u0351\u0307a\u0350\u0314l\u0336g\u0358o\u0301, a\u030A\u0301, \u1100\u1161\u11A8 (jamo), e\u0301\u0302\u0303\u0304 stacked.',
  mixed: '混合 mixed 🧪 text: Ω≈ç√∫ — “quotes” ‘single’ \\ backslash \t tab\nnew line ✓ done',
} as const;

/** A deterministic multi-line text of `count` words (Latin, CJK and emoji words mixed in). */
export function longAnswer(count: number): string {
  const vocabulary = ['alpha', 'beta', 'gamma', 'delta', 'proxy', 'stream', '模型', '流式', '😀', 'naïve', 'e\u0301', '👩‍💻', 'kimi', 'token', 'chunk', '数据'];
  let seed = 0x2545f491;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    let word = vocabulary[next() % vocabulary.length]!;
    if (i % 97 === 96) word += '.\n';
    else if (i % 13 === 12) word += ',';
    words.push(word);
  }
  return words.join(' ').replace(/\n /g, '\n');
}

/**
 * `[[emu call=… args64=…]]`: the emulator answers with a call block (tool-replies.ts); args
 * travel base64url-encoded so that no client quoting can change them.
 */
export function emuCall(names: string | string[], args: unknown = {}, extra: Record<string, string | number | true> = {}): string {
  const parts = [`call=${Array.isArray(names) ? names.join(',') : names}`, `args64=${Buffer.from(JSON.stringify(args)).toString('base64url')}`];
  for (const [key, value] of Object.entries(extra)) {
    parts.push(value === true ? key : typeof value === 'number' ? `${key}=${value}` : `${key}=${quoteDirective(value)}`);
  }
  return `[[emu ${parts.join(' ')}]]`;
}
