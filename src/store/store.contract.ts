/**
 * The store contract: one suite every backend must pass. It relies only on the Store
 * interface and an injected FakeClock, so a backend is correct when it passes, whatever it
 * is built on. Each test gets a fresh store and a fresh clock.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { coordinationContract } from './contract-coordination.js';
import { conversationContract } from './contract-conversations.js';
import { deletionContract } from './contract-deletions.js';
import type { ContractContext } from './contract-fixtures.js';
import { recordsContract } from './contract-records.js';
import { responsesContract } from './contract-responses.js';
import { FakeClock } from './fake-clock.js';
import type { Store } from './store.js';

export function storeContract(
  name: string,
  make: (clock: FakeClock) => Promise<Store> | Store,
  cleanup?: (store: Store) => Promise<void>,
): void {
  describe(`store contract: ${name}`, () => {
    let ctx: ContractContext | undefined;

    beforeEach(async () => {
      const clock = new FakeClock();
      ctx = { clock, store: await make(clock) };
    });

    afterEach(async () => {
      if (!ctx) return;
      const { store } = ctx;
      ctx = undefined;
      await store.close();
      await cleanup?.(store);
    });

    const use = (): ContractContext => {
      if (!ctx) throw new Error('store contract: no store outside a test');
      return ctx;
    };

    conversationContract(use);
    coordinationContract(use);
    deletionContract(use);
    recordsContract(use);
    responsesContract(use);
  });
}
