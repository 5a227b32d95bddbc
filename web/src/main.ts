/**
 * The playground's entry: the API key field, the model list, the tabs, and the two tabs'
 * wiring. Everything it talks to is this server's Gemini API, at the URL the page came from.
 */
import { ApiClient } from './api.js';
import { createAskTab } from './ask-tab.js';
import { byId, clearError, h, showError } from './dom.js';
import { createFilesTab } from './files-tab.js';
import { createBatchesTab } from './batches-tab.js';

const KEY_STORAGE = 'ocellus.apiKey';
const MODEL_STORAGE = 'ocellus.model';
const DEFAULT_MODEL = 'gemini-2.5-flash';

/** The server's base URL as this page sees it: its origin plus any path prefix a proxy adds. */
const base = new URL('.', window.location.href).href.replace(/\/$/, '');

const keyInput = byId<HTMLInputElement>('api-key');
keyInput.value = localStorage.getItem(KEY_STORAGE) ?? '';
const api = new ApiClient(base, () => keyInput.value);
const modelSelect = byId<HTMLSelectElement>('model');
const globalError = byId('global-error');

const files = createFilesTab(api, { onUse: (file) => ask.addFile(file) });
const ask = createAskTab(api, { model: () => modelSelect.value.replace(/^models\//, ''), onNeedFiles: () => files.refresh() });
files.onList((list) => ask.setUploadedFiles(list));
const batches = createBatchesTab(api);

async function loadModels(): Promise<void> {
  clearError(globalError);
  try {
    const models = await api.listModels();
    const wanted = localStorage.getItem(MODEL_STORAGE) ?? DEFAULT_MODEL;
    modelSelect.replaceChildren(
      ...models.map((m) => h('option', { value: m.name.replace(/^models\//, ''), selected: m.name === `models/${wanted}` }, m.name.replace(/^models\//, ''))),
    );
    ask.changed();
    await files.refresh();
  } catch (err) {
    showError(globalError, err);
  }
}

let keyTimer: number | undefined;
keyInput.addEventListener('input', () => {
  localStorage.setItem(KEY_STORAGE, keyInput.value);
  // A new key may unlock the server: reload what needs one, once typing pauses.
  window.clearTimeout(keyTimer);
  keyTimer = window.setTimeout(() => void loadModels(), 400);
});
modelSelect.addEventListener('change', () => {
  localStorage.setItem(MODEL_STORAGE, modelSelect.value);
  ask.changed();
});

for (const button of document.querySelectorAll<HTMLButtonElement>('.tabs button')) {
  button.addEventListener('click', () => {
    for (const b of document.querySelectorAll<HTMLButtonElement>('.tabs button')) b.setAttribute('aria-selected', String(b === button));
    byId('tab-ask').hidden = button.dataset.tab !== 'ask';
    byId('tab-files').hidden = button.dataset.tab !== 'files';
    if (button.dataset.tab === 'files') void files.refresh();
    byId('tab-batches').hidden = button.dataset.tab !== 'batches';
    if (button.dataset.tab === 'batches') void batches.refresh();
    else batches.pause();
  });
}

void loadModels();
