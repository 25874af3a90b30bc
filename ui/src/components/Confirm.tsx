/** Asks before a destructive action. */
import { Dialog } from './Dialog';
import { useI18n } from '../i18n';

export function Confirm({ text, action, onYes, onClose }: { text: string; action: string; onYes: () => void; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={t('common.confirm')} onClose={onClose}>
      <p>{text}</p>
      <div class="toolbar">
        <button
          class="danger"
          onClick={() => {
            onClose();
            onYes();
          }}
        >
          {action}
        </button>
        <button class="secondary" onClick={onClose}>
          {t('common.cancel')}
        </button>
      </div>
    </Dialog>
  );
}
