// Child process for the crash test: saves one conversation through SqliteStore, reports
// it, then keeps rewriting another conversation until the parent kills it with SIGKILL.
// It never closes the store, so nothing but SQLite's own commit protects the data.
import { register } from 'node:module';
import process from 'node:process';
import { setImmediate } from 'node:timers';

register('./ts-hooks.mjs', import.meta.url);
const { SqliteStore } = await import('../sqlite.ts');

const [dataDir, survivorJson] = process.argv.slice(2);
const store = SqliteStore.open({ dataDir });
await store.saveConversation(JSON.parse(survivorJson));
process.send({ saved: true });

// Each version of "churn" says in upstreamChatId how many messages it holds, so a reader
// can tell a complete version from a torn one.
let n = 0;
const churn = async () => {
  n += 1;
  const length = (n % 200) + 1;
  const transcript = Array.from({ length }, (_, i) => ({ role: 'user', content: `message ${i} `.repeat(20) }));
  await store.saveConversation({
    id: 'churn', owner: 'crash', accountId: 'acct-1', protocol: 'rest', model: 'kimi-k2',
    upstreamChatId: String(length), transcript, createdAt: 1, updatedAt: n,
  });
  if (n === 25) process.send({ churning: true });
  setImmediate(churn);
};
churn();
