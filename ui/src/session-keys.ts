/**
 * Keys created in this tab, kept in memory only (never in storage) so that the playground
 * can offer them: a created key is shown once and exists nowhere else in the browser.
 */
const created: Array<{ name: string; key: string }> = [];

export function rememberKey(name: string, key: string): void {
  created.unshift({ name, key });
}

export function createdKeys(): ReadonlyArray<{ name: string; key: string }> {
  return created;
}
