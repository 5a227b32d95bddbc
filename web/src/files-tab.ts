/**
 * The Files tab: upload (resumable, with a progress bar per file), list with expiry, delete,
 * and "Use" to put an uploaded image into the Ask tab.
 */
import type { ApiClient, FileResource } from './api.js';
import { byId, clearError, formatBytes, h, showError, timeUntil } from './dom.js';
import { uploadFile } from './upload.js';

export interface FilesTab {
  refresh(): Promise<void>;
  /** Called with every fresh list (the Ask tab's "uploaded file" picker follows it). */
  onList(listener: (files: FileResource[]) => void): void;
}

export function createFilesTab(api: ApiClient, hooks: { onUse: (file: FileResource) => void }): FilesTab {
  const input = byId<HTMLInputElement>('upload-input');
  const uploads = byId<HTMLUListElement>('uploads');
  const tbody = byId<HTMLTableElement>('files-table').tBodies[0]!;
  const error = byId('files-error');
  const listeners: Array<(files: FileResource[]) => void> = [];

  async function refresh(): Promise<void> {
    try {
      const list = await api.listFiles();
      clearError(error);
      render(list);
      for (const l of listeners) l(list);
    } catch (err) {
      showError(error, err);
    }
  }

  function render(list: FileResource[]): void {
    if (list.length === 0) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No files uploaded.')));
      return;
    }
    tbody.replaceChildren(
      ...list.map((f) =>
        h(
          'tr',
          { 'data-name': f.name },
          h('td', {}, f.name),
          h('td', {}, f.displayName ?? ''),
          h('td', {}, f.mimeType),
          h('td', {}, formatBytes(Number(f.sizeBytes))),
          h('td', { title: f.error?.message ?? '' }, f.state + (f.error?.message ? `: ${f.error.message}` : '')),
          h('td', { class: 'expires', title: f.expirationTime }, `${timeUntil(f.expirationTime)} (${new Date(f.expirationTime).toLocaleString()})`),
          h(
            'td',
            {},
            h('button', { type: 'button', class: 'use', disabled: f.state !== 'ACTIVE', onclick: () => hooks.onUse(f) }, 'Use'),
            ' ',
            h('button', { type: 'button', class: 'delete', onclick: () => void remove(f) }, 'Delete'),
          ),
        ),
      ),
    );
  }

  async function remove(f: FileResource): Promise<void> {
    try {
      await api.deleteFile(f.name);
      clearError(error);
    } catch (err) {
      showError(error, err);
    }
    await refresh();
  }

  async function upload(file: File): Promise<void> {
    const bar = h('progress', { max: 100, value: 0 });
    const pct = h('span', { class: 'pct' }, '0%');
    const note = h('span', { class: 'muted' });
    const row = h('li', { class: 'upload', 'data-file': file.name }, h('span', {}, file.name), bar, pct, note);
    uploads.prepend(row);
    try {
      const done = await uploadFile(api, file, ({ sent, total }) => {
        const p = total === 0 ? 100 : Math.floor((sent / total) * 100);
        bar.value = p;
        pct.textContent = `${p}%`;
        note.textContent = `${formatBytes(sent)} of ${formatBytes(total)}`;
      });
      row.dataset.state = done.state;
      note.textContent = done.state === 'ACTIVE' ? `uploaded as ${done.name}` : `${done.name}: ${done.state}${done.error?.message ? `, ${done.error.message}` : ''}`;
    } catch (err) {
      row.dataset.state = 'error';
      note.textContent = '';
      const box = h('span', { class: 'error' });
      showError(box, err);
      row.append(box);
    }
  }

  input.addEventListener('change', () => {
    const picked = [...(input.files ?? [])];
    input.value = '';
    // One after another: parallel uploads would only split the same bandwidth.
    void (async () => {
      for (const f of picked) await upload(f);
      await refresh();
    })();
  });
  byId('files-refresh').addEventListener('click', () => void refresh());

  return { refresh, onList: (l) => void listeners.push(l) };
}
