import { describe, expect, it } from 'vitest';
import { linkSignals } from './signals.js';

describe('linkSignals', () => {
  it('aborts with the reason of whichever source aborts first', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    expect(linked.signal.aborted).toBe(false);
    b.abort('from b');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('from b');
    a.abort('from a');
    expect(linked.signal.reason).toBe('from b');
  });

  it('is aborted from the start when a source already is', () => {
    const a = new AbortController();
    a.abort('early');
    const linked = linkSignals([new AbortController().signal, a.signal]);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('early');
    linked.unlink();
  });

  it('stops following its sources once unlinked', () => {
    const a = new AbortController();
    const linked = linkSignals([a.signal]);
    linked.unlink();
    linked.unlink();
    a.abort();
    expect(linked.signal.aborted).toBe(false);
  });

  it('keeps following its lasting sources after unlink, and can be aborted itself', () => {
    const stop = new AbortController();
    const client = new AbortController();
    const linked = linkSignals([stop.signal], [client.signal]);
    linked.unlink();
    stop.abort('shutdown');
    expect(linked.signal.aborted).toBe(false);
    client.abort('client left');
    expect(linked.signal.reason).toBe('client left');

    const own = linkSignals([new AbortController().signal]);
    own.abort('time limit');
    expect(own.signal.reason).toBe('time limit');
  });

  it('leaves nothing behind on a long-lived source', () => {
    const longLived = new AbortController();
    let listeners = 0;
    const add = longLived.signal.addEventListener.bind(longLived.signal);
    const remove = longLived.signal.removeEventListener.bind(longLived.signal);
    longLived.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    }) as typeof add;
    longLived.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners -= 1;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 1_000; i++) {
      const request = new AbortController();
      const linked = linkSignals([request.signal, longLived.signal]);
      if (i % 2 === 0) request.abort();
      linked.unlink();
    }
    expect(listeners).toBe(0);
  });
});
