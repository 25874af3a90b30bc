/**
 * The admin API's credential: `ADMIN_TOKEN`, sent as `Authorization: Bearer <token>` or
 * `x-admin-token: <token>` and compared in constant time. It is not a client API key, and
 * no client API key opens the admin API.
 */
import { ProxyError } from '../core/errors.js';
import { digestsEqual, extractSecret, sha256, type Headers } from './secrets.js';

export class AdminTokenVerifier {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /** Throws 401 invalid_admin_token unless the headers carry the admin token. */
  verify(headers: Headers): void {
    const presented = extractSecret(headers, 'x-admin-token');
    if (!presented) {
      throw new ProxyError('invalid_admin_token', 'Missing admin token: send ADMIN_TOKEN as "Authorization: Bearer <token>" or "x-admin-token: <token>".');
    }
    if (!digestsEqual(sha256(presented), this.digest)) throw new ProxyError('invalid_admin_token', 'Incorrect admin token.');
  }
}
