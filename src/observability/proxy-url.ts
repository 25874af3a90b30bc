/** Proxy URL helpers shared by the config and the outbound dispatcher. */
import { redactUrlCredentials } from './redact.js';

/** A proxy URL as given, with `http://` assumed when the scheme is missing (as curl does). */
export function normalizeProxyUrl(raw: string): string {
  const v = raw.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
}

/** `scheme://***@host:port`: safe to log. */
export function redactProxyUrl(url: string): string {
  return redactUrlCredentials(url);
}
