/**
 * The Batches tab: the project's batch jobs, newest first, with their state and progress
 * (answered of all requests, failed ones counted apart), a link that downloads a finished
 * file batch's responses file, and cancel/delete. While a job is still running the list
 * refreshes itself every two seconds.
 */
import { errorOf, VERSION, type ApiClient } from './api.js';
import { byId, clearError, h, showError } from './dom.js';

export interface BatchOperation {
  name: string;
  done?: boolean;
  metadata: {
    displayName?: string;
    model?: string;
    state: string;
    createTime?: string;
    batchStats?: { requestCount?: string; successfulRequestCount?: string; failedRequestCount?: string; pendingRequestCount?: string };
    output?: { responsesFile?: string };
  };
}

export interface BatchesTab {
  refresh(): Promise<void>;
  /** Stops the self-refresh (another tab is shown). */
  pause(): void;
}

const ACTIVE = new Set(['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING']);

export function createBatchesTab(api: ApiClient): BatchesTab {
  const tbody = byId<HTMLTableElement>('batches-table').tBodies[0]!;
  const error = byId('batches-error');
  let timer: number | undefined;

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(`${api.base}/${VERSION}/${path}`, { ...init, headers: api.headers() });
    if (!res.ok) throw await errorOf(res);
    return res;
  };

  async function list(): Promise<BatchOperation[]> {
    const out: BatchOperation[] = [];
    let token = '';
    do {
      const page = (await (await call(`batches?pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`)).json()) as {
        operations?: BatchOperation[];
        nextPageToken?: string;
      };
      out.push(...(page.operations ?? []));
      token = page.nextPageToken ?? '';
    } while (token && out.length < 500);
    return out;
  }

  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    try {
      const ops = await list();
      clearError(error);
      render(ops);
      if (ops.some((o) => ACTIVE.has(o.metadata.state))) timer = window.setTimeout(() => void refresh(), 2000);
    } catch (err) {
      showError(error, err);
    }
  }

  function render(ops: BatchOperation[]): void {
    if (ops.length === 0) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No batch jobs.')));
      return;
    }
    tbody.replaceChildren(...ops.map(row));
  }

  function row(op: BatchOperation): HTMLTableRowElement {
    const m = op.metadata;
    const s = m.batchStats ?? {};
    const total = Number(s.requestCount ?? 0);
    const ok = Number(s.successfulRequestCount ?? 0);
    const failed = Number(s.failedRequestCount ?? 0);
    const file = m.output?.responsesFile;
    const active = ACTIVE.has(m.state);
    return h(
      'tr',
      { 'data-name': op.name, 'data-state': m.state },
      h('td', {}, op.name, m.displayName ? h('div', { class: 'muted' }, m.displayName) : ''),
      h('td', {}, (m.model ?? '').replace(/^models\//, '')),
      h('td', { class: 'state' }, m.state.replace(/^BATCH_STATE_/, '')),
      h(
        'td',
        { class: 'progress' },
        h('progress', { max: Math.max(1, total), value: ok + failed }),
        ` ${ok + failed} / ${total}`,
        failed ? h('span', { class: 'muted' }, ` (${failed} failed)`) : '',
      ),
      h('td', {}, m.createTime ? new Date(m.createTime).toLocaleString() : ''),
      h(
        'td',
        {},
        file ? h('button', { type: 'button', class: 'download', onclick: () => void download(file) }, 'Download results') : '',
        ' ',
        active ? h('button', { type: 'button', class: 'cancel', onclick: () => void act(`${op.name}:cancel`, 'POST') }, 'Cancel') : '',
        ' ',
        h('button', { type: 'button', class: 'delete', onclick: () => void act(op.name, 'DELETE') }, 'Delete'),
      ),
    );
  }

  /** Fetched with the API key (a plain link could not send it), then saved from a blob URL. */
  async function download(fileName: string): Promise<void> {
    try {
      const blob = await (await call(`${fileName}:download?alt=media`)).blob();
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${fileName.replace(/^files\//, '')}.jsonl` });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showError(error, err);
    }
  }

  async function act(path: string, method: string): Promise<void> {
    try {
      await call(path, { method });
      clearError(error);
    } catch (err) {
      showError(error, err);
    }
    await refresh();
  }

  byId('batches-refresh').addEventListener('click', () => void refresh());
  return { refresh, pause: () => window.clearTimeout(timer) };
}
