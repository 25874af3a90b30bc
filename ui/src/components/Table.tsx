/** The dashboard's tables: a loading line, an empty line or the rows, with the same markup on every page. */
import type { ComponentChildren } from 'preact';
import { useI18n } from '../i18n';

export interface TableProps<R> {
  /** Column headings, already in the reader's language. */
  columns: string[];
  /** Undefined while the first answer is awaited. */
  rows: R[] | undefined;
  /** What a row is known by across renders. */
  rowKey: (row: R) => string;
  /** The cells of a row: a `th scope="row"` for the column that names it, `td`s for the rest. */
  cells: (row: R) => ComponentChildren;
  /** `data-*` attributes a row carries (the UI tests find rows by them). */
  rowData?: (row: R) => Record<`data-${string}`, string | number>;
  /** Shown instead of a table without rows; absent: the empty table is shown. */
  empty?: string;
  /** In a card of its own that scrolls sideways on narrow screens (default); false inside a card. */
  card?: boolean;
  testId?: string;
}

export function Table<R>({ columns, rows, rowKey, cells, rowData, empty, card = true, testId }: TableProps<R>) {
  const { t } = useI18n();
  if (!rows) return <p role="status">{t('common.loading')}</p>;
  if (rows.length === 0 && empty !== undefined) return <p class="muted">{empty}</p>;
  const table = (
    <table data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)} {...rowData?.(r)}>
            {cells(r)}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return card ? <div class="table-wrap card">{table}</div> : table;
}
