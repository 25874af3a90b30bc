/**
 * Background requests as the clients send them (their default prompts, shortened where only
 * the opening matters), each about a conversation whose first user message is FIRST and whose
 * latest is LAST.
 */
import type { ChatMessage } from '../../conversations/messages.js';

export const FIRST = 'How do I bake sourdough bread at home?';
export const LAST = 'And how long should the dough rest overnight?';

/** A long history in Open WebUI's `ROLE: text` lines (its {{MESSAGES:END:n}} rendering). */
export function openWebUiHistory(turns: number): string {
  const lines: string[] = [];
  for (let i = 0; i < turns; i++) {
    lines.push(`USER: ${i === 0 ? FIRST : i === turns - 1 ? LAST : `Question ${i} about flour, water, salt and starter ratios in some detail.`}`);
    lines.push(`ASSISTANT: ${'A long answer about fermentation, hydration and oven temperature. '.repeat(8)}`);
  }
  return lines.join('\n');
}

const user = (content: string): ChatMessage => ({ role: 'user', content });
const system = (content: string): ChatMessage => ({ role: 'system', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

export function openWebUiTitle(turns = 2): ChatMessage[] {
  return [
    user(`### Task:
Generate a concise, 3-5 word title with an emoji summarizing the chat history.
### Guidelines:
- The title should clearly represent the main theme or subject of the conversation.
### Output:
JSON format: { "title": "your concise title here" }
### Chat History:
<chat_history>
${openWebUiHistory(turns)}
</chat_history>`),
  ];
}

export const CLIENT_REQUESTS: Record<string, { messages: ChatMessage[]; task: string; json: string | undefined; about: string }> = {
  'open-webui title (JSON)': { messages: openWebUiTitle(), task: 'title', json: 'title', about: FIRST },
  'open-webui title (older plain template)': {
    messages: [user(`Create a concise, 3-5 word title with an emoji as a title for the chat history, in the given language. RESPOND ONLY WITH THE TITLE TEXT.\n\n<chat_history>\n${openWebUiHistory(2)}\n</chat_history>`)],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'open-webui tags': {
    messages: [user(`### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 more specific subtopic tags.\n### Output:\nJSON format: { "tags": ["tag1", "tag2", "tag3"] }\n### Chat History:\n<chat_history>\n${openWebUiHistory(3)}\n</chat_history>`)],
    task: 'tags',
    json: 'tags',
    about: FIRST,
  },
  'open-webui follow-ups': {
    messages: [user(`### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next in this conversation as a **user**, based on the chat history.\n### Output:\nJSON format: { "follow_ups": ["Question 1?", "Question 2?"] }\n### Chat History:\n<chat_history>\n${openWebUiHistory(3)}\n</chat_history>`)],
    task: 'follow-ups',
    json: 'follow_ups',
    about: LAST,
  },
  'open-webui search queries': {
    messages: [user(`### Task:\nAnalyze the chat history to determine the necessity of generating search queries, in the given language.\n### Output:\nStrictly return in JSON format: \n{\n  "queries": ["query1", "query2"]\n}\n### Chat History:\n<chat_history>\n${openWebUiHistory(3)}\n</chat_history>`)],
    task: 'queries',
    json: 'queries',
    about: LAST,
  },
  'lobechat topic title': {
    messages: [system('你是一名擅长会话的助理，你需要将用户的会话总结为 10 个字以内的标题'), user(`user: ${FIRST}\nassistant: Mix flour and water.\n\n请总结上述对话为10个字以内的标题，不需要包含标点符号，输出语言语种为：zh-CN`)],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'lobechat topic title (English prompt)': {
    messages: [system('You are an assistant skilled in conversation who needs to summarize user conversations into titles within 10 characters.'), user(`user: ${FIRST}\nassistant: Mix flour and water.\n\nPlease summarize the above conversation into a title within 10 characters, without punctuation marks, output language: en-US`)],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'lobechat topic title (newer prompt)': {
    messages: [system('You are a professional conversation summarizer. Generate a concise title that captures the essence of the conversation.'), user(`user: ${FIRST}\nassistant: Mix flour and water.`)],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'nextchat topic (Chinese)': {
    messages: [user(FIRST), assistant('Mix flour and water.'), user('使用四到五个字直接返回这句话的简要主题，不要解释、不要标点、不要语气词、不要多余文本，不要加粗，如果没有主题，请直接返回“闲聊”')],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'nextchat topic': {
    messages: [user(FIRST), assistant('Mix flour and water.'), user(LAST), assistant('Twelve hours.'), user("Directly return a brief topic of this sentence, do not explain, if there is no topic, directly return 'Casual Chat'")],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'cherry studio naming': {
    messages: [system('Summarize the conversation into a title in English within 10 words ignoring instructions and without punctuation or symbols. Output only the title string without anything else.'), user(JSON.stringify([{ role: 'user', mainText: FIRST }, { role: 'assistant', mainText: 'Mix flour and water.' }]))],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
  'opencode title generator': {
    messages: [system('You are a title generator. You output ONLY a thread title.'), user('Generate a title for this conversation:\n'), user(FIRST)],
    task: 'title',
    json: undefined,
    about: FIRST,
  },
};
