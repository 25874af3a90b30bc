/**
 * Playground: calls the public API (/v1) with a key the admin picks, exactly as a client
 * would, streaming the answer with its reasoning and sources shown apart. Turns continue one
 * stateful conversation (`conversation_id`) until "New conversation".
 */
import { createParser } from 'eventsource-parser';
import { useRef, useState } from 'preact/hooks';
import { Notice, errorText } from '../components/Notice';
import { useI18n } from '../i18n';
import { createdKeys } from '../session-keys';

interface Turn {
  user: string;
  reasoning: string;
  content: string;
  error?: string;
  done: boolean;
}

const SOURCES_MARK = '\n\nSources:';
const SOURCE_LINE = /^\s*(\d+)\.\s*\[(.*)\]\((https?:\/\/[^\s)]+)\)\s*$/;

/** The answer and its sources block (list style) apart. */
function splitSources(content: string): { answer: string; sources: Array<{ n: string; title: string; url: string }> } {
  const at = content.lastIndexOf(SOURCES_MARK);
  if (at < 0) return { answer: content, sources: [] };
  const sources = content
    .slice(at + SOURCES_MARK.length)
    .split('\n')
    .map((l) => SOURCE_LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ n: m[1]!, title: m[2]!.replace(/\\(.)/g, '$1'), url: m[3]! }));
  return sources.length ? { answer: content.slice(0, at), sources } : { answer: content, sources: [] };
}

const newConversationId = () => `playground-${crypto.randomUUID().slice(0, 8)}`;

export function Playground() {
  const { t } = useI18n();
  const [key, setKey] = useState(createdKeys()[0]?.key ?? '');
  const [models, setModels] = useState<string[]>([]);
  const [model, setModel] = useState('');
  const [thinking, setThinking] = useState(true);
  const [search, setSearch] = useState(false);
  const [message, setMessage] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [conversation, setConversation] = useState(newConversationId);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);

  const headers = () => ({ authorization: `Bearer ${key.trim()}`, 'content-type': 'application/json' });

  const loadModels = async () => {
    setError(undefined);
    if (!key.trim()) return setError(t('pg.needKey'));
    try {
      const res = await fetch('/v1/models', { headers: headers() });
      const body = (await res.json()) as { data?: Array<{ id: string }>; error?: { message: string } };
      if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      const ids = (body.data ?? []).map((m) => m.id);
      setModels(ids);
      if (!ids.includes(model)) setModel(ids[0] ?? '');
    } catch (err) {
      setError(errorText(err));
    }
  };

  const update = (i: number, change: Partial<Turn>) => setTurns((all) => all.map((turn, j) => (j === i ? { ...turn, ...change } : turn)));

  const send = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (!key.trim()) return setError(t('pg.needKey'));
    const text = message.trim();
    if (!text || !model) return;
    const index = turns.length;
    setTurns([...turns, { user: text, reasoning: '', content: '', done: false }]);
    setMessage('');
    setBusy(true);
    const controller = new AbortController();
    abort.current = controller;
    let reasoning = '';
    let content = '';
    try {
      const res = await fetch('/v1/chat/completions', {
        method: 'POST',
        headers: headers(),
        signal: controller.signal,
        body: JSON.stringify({ model, stream: true, conversation_id: conversation, enable_thinking: thinking, web_search: search, messages: [{ role: 'user', content: text }] }),
      });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
        throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      }
      const parser = createParser({
        onEvent: (ev) => {
          if (ev.data === '[DONE]') return;
          const chunk = JSON.parse(ev.data) as { error?: { message?: string }; choices?: Array<{ delta?: { content?: string | null; reasoning_content?: string | null } }> };
          if (chunk.error) throw new Error(chunk.error.message ?? 'error');
          const delta = chunk.choices?.[0]?.delta;
          if (delta?.reasoning_content) reasoning += delta.reasoning_content;
          if (delta?.content) content += delta.content;
          update(index, { reasoning, content });
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      update(index, { done: true });
    } catch (err) {
      update(index, { done: true, error: errorText(err) });
    } finally {
      setBusy(false);
      abort.current = undefined;
    }
  };

  const saved = createdKeys();
  return (
    <div class="stack">
      <section class="card stack">
        <label for="pg-key">{t('pg.key')}</label>
        <div class="toolbar wrap">
          <input id="pg-key" type="password" class="grow mono" autocomplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} aria-describedby="pg-key-hint" />
          <button class="secondary" type="button" onClick={loadModels}>
            {t('pg.loadModels')}
          </button>
        </div>
        {saved.length > 1 ? (
          <select aria-label={t('pg.key')} onChange={(e) => setKey(e.currentTarget.value)}>
            {saved.map((k) => (
              <option key={k.key} value={k.key}>
                {k.name}
              </option>
            ))}
          </select>
        ) : null}
        <p id="pg-key-hint" class="hint">
          {t('pg.keyHint')}
        </p>
        <div class="toolbar wrap">
          <label for="pg-model">{t('pg.model')}</label>
          <select id="pg-model" value={model} onChange={(e) => setModel(e.currentTarget.value)} disabled={models.length === 0}>
            {models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          <label class="check">
            <input type="checkbox" checked={thinking} onChange={(e) => setThinking(e.currentTarget.checked)} /> {t('pg.thinking')}
          </label>
          <label class="check">
            <input type="checkbox" checked={search} onChange={(e) => setSearch(e.currentTarget.checked)} /> {t('pg.search')}
          </label>
          <button
            class="secondary"
            type="button"
            onClick={() => {
              setTurns([]);
              setConversation(newConversationId());
            }}
          >
            {t('pg.new')}
          </button>
        </div>
        <p class="muted">{t('pg.conversation', { id: conversation })}</p>
      </section>
      <Notice kind="error" text={error} />
      <ol class="turns" aria-live="polite" data-testid="turns">
        {turns.map((turn, i) => {
          const { answer, sources } = splitSources(turn.content);
          return (
            <li key={i} class="card stack">
              <div class="msg role-user">
                <span class="role">{t('pg.you')}</span>
                <pre class="text">{turn.user}</pre>
              </div>
              {turn.reasoning ? (
                <details open class="reasoning" data-testid="reasoning">
                  <summary>{t('pg.reasoning')}</summary>
                  <pre class="text">{turn.reasoning}</pre>
                </details>
              ) : null}
              <div class="msg role-assistant">
                <span class="role">{t('pg.answer')}</span>
                <pre class="text" data-testid="answer" data-done={turn.done ? 'true' : 'false'}>
                  {answer}
                </pre>
              </div>
              {sources.length ? (
                <div class="sources">
                  <h3>{t('pg.sources')}</h3>
                  <ol>
                    {sources.map((s) => (
                      <li key={s.n} value={Number(s.n)}>
                        <a href={s.url} target="_blank" rel="noopener noreferrer">
                          {s.title}
                        </a>
                      </li>
                    ))}
                  </ol>
                </div>
              ) : null}
              <Notice kind="error" text={turn.error} />
            </li>
          );
        })}
      </ol>
      <form class="card stack" onSubmit={send}>
        <label for="pg-message">{t('pg.message')}</label>
        <textarea
          id="pg-message"
          rows={3}
          value={message}
          onInput={(e) => setMessage(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
          }}
        />
        <div class="toolbar">
          <button type="submit" disabled={busy || !model}>
            {t('pg.send')}
          </button>
          {busy ? (
            <button type="button" class="secondary" onClick={() => abort.current?.abort()}>
              {t('pg.stop')}
            </button>
          ) : null}
        </div>
      </form>
    </div>
  );
}
