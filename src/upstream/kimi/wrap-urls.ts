/**
 * The web UI wraps URLs in user text as `<url id="" type="url" status="" title="" wc="">…</url>`;
 * spec A.4 reports that the server's URL fetching fails without it. Applied to outgoing text only.
 */
const URL_RE = /(?<!<url[^>]*>)\bhttps?:\/\/[^\s<>"'）)\]]+/g;

export function wrapUrls(text: string): string {
  if (!text.includes('http')) return text;
  return text.replace(URL_RE, (u) => `<url id="" type="url" status="" title="" wc="">${u}</url>`);
}
