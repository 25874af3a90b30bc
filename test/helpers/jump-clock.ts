/**
 * A clock for end-to-end tests of time-based logic (TTLs, cooldowns, circuit breakers): the
 * system clock plus an offset the test moves forward, so a 60 s cooldown ends when the test
 * says so, without waiting for it. Sleeps (backoffs, polling) still run in real time, so the
 * parts of the app that wait keep working.
 */
import { systemClock, type Clock } from '../../src/core/clock.js';

export class JumpClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }

  /** Moves time forward by `ms` at once. */
  advance(ms: number): void {
    this.offset += ms;
  }
}
