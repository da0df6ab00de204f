// The one module of the webview code that imports @vscode/webview-ui-toolkit
// (unmaintained upstream: swapping it for another control library touches
// this file only). It registers the components the panels use and wraps the
// few things the panels do with them: fill a dropdown, fill a data grid, act
// on a grid row (click, Enter), read a dropdown's value.

import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeDataGrid, vsCodeDataGridCell, vsCodeDataGridRow, vsCodeDropdown, vsCodeOption, vsCodeTextField,
  type DataGrid, type DataGridRow, type Dropdown, type TextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines <vscode-button>, <vscode-dropdown>/<vscode-option>, <vscode-data-grid> (rows, cells) and <vscode-text-field>. Call once, before the markup is used. */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeDataGrid(), vsCodeDataGridRow(), vsCodeDataGridCell(), vsCodeTextField());
}

export interface Choice { value: string; label: string }

/** A dropdown (or a plain <select>) by id. */
export function dropdown(id: string): HTMLElement & { value: string } {
  return document.getElementById(id) as unknown as Dropdown;
}

/** A text field (or a plain <input>) by id. */
export function textField(id: string): HTMLElement & { value: string } {
  return document.getElementById(id) as unknown as TextField;
}

/** Replaces a dropdown's options and selects `value` (the first option when absent). */
export function fillDropdown(el: HTMLElement & { value: string }, choices: Choice[], value: string | undefined): void {
  const pick = choices.some((c) => c.value === value) ? value : choices[0]?.value;
  // The same options again (a new position): only the value, the component's option scan is not free.
  const now = Array.from(el.children, (o) => `${o.getAttribute('value') ?? ''}\u0000${o.textContent ?? ''}`);
  if (now.length === choices.length && choices.every((c, i) => now[i] === `${c.value}\u0000${c.label}`)) {
    if (pick !== undefined && el.value !== pick) el.value = pick;
    return;
  }
  el.replaceChildren(...choices.map((c) => {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', c.value);
    o.textContent = c.label;
    if (c.value === pick) o.setAttribute('selected', '');
    return o;
  }));
  if (pick !== undefined) {
    el.value = pick;
    // The component takes slotted options on the next task: set the value again then.
    setTimeout(() => { if (el.value !== pick) el.value = pick; }, 0);
  }
}

export interface Column { key: string; title: string }

/** Fills a data grid: a header row with `columns` and one row per record. */
export function fillGrid(id: string, columns: Column[], rows: Record<string, string>[]): void {
  const grid = document.getElementById(id) as unknown as DataGrid | null;
  if (!grid) return;
  grid.columnDefinitions = columns.map((c) => ({ columnDataKey: c.key, title: c.title }));
  grid.rowsData = rows;
}

/**
 * Calls `activate` with a data row's record when the row is clicked or Enter
 * is pressed in it (the grid's arrow keys move between its cells); header
 * rows do nothing.
 */
export function onGridRowActivate(id: string, activate: (row: Record<string, string>) => void): void {
  const grid = document.getElementById(id);
  if (!grid) return;
  const rowOf = (target: EventTarget | null): Record<string, string> | undefined => {
    const row = target instanceof Element ? (target.closest('vscode-data-grid-row') as DataGridRow | null) : null;
    return row && row.rowType === 'default' && row.rowData ? (row.rowData as Record<string, string>) : undefined;
  };
  grid.addEventListener('click', (e) => {
    const row = rowOf(e.target);
    if (row) activate(row);
  });
  grid.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const row = rowOf(e.target);
    if (!row) return;
    e.preventDefault();
    activate(row);
  });
}
