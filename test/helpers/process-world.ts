/**
 * The surroundings of real proxy processes (test/helpers/proxy-process.ts) that outlive any one
 * of them: an emulator and a data directory, made fresh for each test and removed after it,
 * together with every proxy process still running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { assertBuilt, stopAllProxies } from './proxy-process.js';

export interface ProcessWorld {
  emulator: Emulator;
  /** A fresh temporary directory (a working directory for commands). */
  dir: string;
  /** `DATA_DIR` for every process of the test: what one run stores, the next finds. */
  dataDir: string;
}

/** Registers the cleanup in the calling suite; the returned function sets up one test's world. */
export function processWorldPerTest(dirPrefix: string, emulatorOptions: EmulatorOptions = { heartbeatIntervalMs: 0 }): () => Promise<ProcessWorld> {
  let emulator: Emulator | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stopAllProxies();
    await emulator?.close();
    emulator = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  afterAll(stopAllProxies);
  return async () => {
    assertBuilt();
    emulator = await startEmulator(emulatorOptions);
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
    return { emulator, dir, dataDir: join(dir, 'data') };
  };
}
