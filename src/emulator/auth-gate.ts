/** Bearer checks for API calls, answering 401 in the protocol's own error shape (spec A.2, B.11). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { credentialOf, sendConnectError, sendRestError } from './http-io.js';
import type { EmulatorState } from './state.js';

export type Protocol = 'rest' | 'connect';

export interface Caller {
  token: string;
  accountKey: string;
}

export function sendUnauthenticated(res: ServerResponse, protocol: Protocol, message: string): void {
  if (protocol === 'rest') sendRestError(res, 401, 'auth.token.invalid', message);
  else sendConnectError(res, 401, 'unauthenticated', message);
}

/** The caller, or undefined after answering 401 (invalid, expired, invalidated or `401`-faulted token). */
export function requireCaller(state: EmulatorState, req: IncomingMessage, res: ServerResponse, protocol: Protocol): Caller | undefined {
  const token = credentialOf(req);
  const check = state.tokens.checkAccess(token);
  if (!check.ok) {
    sendUnauthenticated(res, protocol, check.message);
    return undefined;
  }
  if (state.faults.take(token, check.accountKey, (f) => f === '401')) {
    sendUnauthenticated(res, protocol, 'token rejected (injected fault)');
    return undefined;
  }
  return { token, accountKey: check.accountKey };
}
