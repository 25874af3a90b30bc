/** Removes credentials from URLs inside a text (`scheme://user:pass@host` → `scheme://***@host`). */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}
