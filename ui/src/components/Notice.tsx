/** Messages after an action: read out by screen readers (role=status / alert). */
export function Notice({ kind, text }: { kind: 'ok' | 'error'; text: string | undefined }) {
  if (!text) return null;
  return (
    <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {text}
    </p>
  );
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
