/**
 * The Ask tab: images in (picked, dropped or uploaded files), a prompt with presets and
 * response options, the token count before sending, the streamed answer drawn over the
 * images, usageMetadata after, and the request as code.
 */
import type { ApiClient, FileResource, UsageMetadata } from './api.js';
import { exportCode, type Language } from './code-export.js';
import { byId, clearError, h, showError } from './dom.js';
import { PRESETS } from './presets.js';
import { buildRequest, chunkText, DraftError, toBase64, type Draft, type ImageInput } from './request.js';
import { Stages } from './stages.js';

export interface AskTab {
  addFile(file: FileResource): Promise<void>;
  setUploadedFiles(files: FileResource[]): void;
  /** Something the request depends on changed elsewhere (the model). */
  changed(): void;
}

export function createAskTab(api: ApiClient, deps: { model: () => string; onNeedFiles: () => Promise<void> }): AskTab {
  const imageInput = byId<HTMLInputElement>('image-input');
  const dropZone = byId('drop-zone');
  const thumbs = byId<HTMLUListElement>('thumbs');
  const filePick = byId<HTMLSelectElement>('file-pick');
  const prompt = byId<HTMLTextAreaElement>('prompt');
  const mime = byId<HTMLSelectElement>('mime');
  const schema = byId<HTMLTextAreaElement>('schema');
  const sendButton = byId<HTMLButtonElement>('send');
  const stopButton = byId<HTMLButtonElement>('stop');
  const tokenCount = byId('token-count');
  const error = byId('error');
  const status = byId('status');
  const answer = byId('answer');
  const usage = byId('usage');
  const code = byId<HTMLTextAreaElement>('code');
  const embed = byId<HTMLInputElement>('embed');
  const stagesEl = byId('stages');
  const stages = new Stages(stagesEl, byId<HTMLOListElement>('entries'));

  let images: ImageInput[] = [];
  let uploaded: FileResource[] = [];
  let running: AbortController | undefined;
  let codeLang: Language | undefined;
  let nextId = 1;

  const draft = (): Draft => ({
    model: deps.model(),
    prompt: prompt.value,
    images,
    options: { responseMimeType: mime.value, responseSchema: schema.value },
  });

  const setStatus = (state: 'idle' | 'sending' | 'streaming' | 'done' | 'error' | 'stopped', text: string) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  // ---- images ----------------------------------------------------------------------------

  function setImages(next: ImageInput[]): void {
    for (const old of images) if (!next.includes(old)) URL.revokeObjectURL(old.preview.url);
    images = next;
    thumbs.replaceChildren(
      ...images.map((img) =>
        h(
          'li',
          { 'data-id': img.id },
          h('img', { src: img.preview.url, alt: '' }),
          h('button', { type: 'button', title: `Remove ${img.name}`, onclick: () => setImages(images.filter((i) => i !== img)) }, '×'),
          `${img.name} (${img.source.kind === 'file' ? img.source.name : `${img.preview.width}×${img.preview.height}`})`,
        ),
      ),
    );
    stages.setImages(images);
    answer.textContent = '';
    usage.textContent = '';
    setStatus('idle', '');
    changed();
  }

  async function addBlobs(files: File[]): Promise<void> {
    clearError(error);
    for (const file of files) {
      try {
        // The server decodes the bytes as it will for the request: upright, HEIC included.
        const preview = await api.preview(file);
        const bytes = new Uint8Array(await file.arrayBuffer());
        setImages([
          ...images,
          { id: `img-${nextId++}`, name: file.name || 'image', mimeType: preview.mimeType, source: { kind: 'inline', base64: toBase64(bytes), bytes: bytes.length }, preview },
        ]);
      } catch (err) {
        showError(error, new Error(`${file.name}: ${(err as Error).message}`));
      }
    }
  }

  async function addFile(file: FileResource): Promise<void> {
    clearError(error);
    try {
      const preview = await api.previewFile(file.name);
      setImages([
        ...images,
        { id: `img-${nextId++}`, name: file.displayName ?? file.name, mimeType: file.mimeType, source: { kind: 'file', name: file.name, uri: file.uri }, preview },
      ]);
      byId<HTMLButtonElement>('tab-button-ask').click();
    } catch (err) {
      showError(error, err);
    }
  }

  imageInput.addEventListener('change', () => {
    const picked = [...(imageInput.files ?? [])];
    imageInput.value = '';
    void addBlobs(picked);
  });
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropZone.classList.add('over');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('over');
    void addBlobs([...(e.dataTransfer?.files ?? [])]);
  });
  byId('file-add').addEventListener('click', () => {
    const f = uploaded.find((x) => x.name === filePick.value);
    if (f) void addFile(f);
    else void deps.onNeedFiles();
  });

  function setUploadedFiles(files: FileResource[]): void {
    uploaded = files.filter((f) => f.state === 'ACTIVE');
    filePick.replaceChildren(
      ...(uploaded.length
        ? uploaded.map((f) => h('option', { value: f.name }, `${f.displayName ?? f.name} (${f.name})`))
        : [h('option', { value: '' }, '(none uploaded)')]),
    );
  }

  // ---- prompt and options ------------------------------------------------------------------

  byId('presets').replaceChildren(
    ...PRESETS.map((p) =>
      h(
        'button',
        {
          type: 'button',
          'data-preset': p.id,
          title: p.minImages > 1 ? `Needs ${p.minImages} images` : p.prompt,
          onclick: () => {
            prompt.value = p.prompt;
            mime.value = p.responseMimeType;
            schema.value = '';
            changed();
          },
        },
        p.title,
      ),
    ),
  );
  prompt.addEventListener('input', () => changed());
  mime.addEventListener('change', () => changed());
  schema.addEventListener('input', () => {
    // A schema only applies to JSON answers; choose JSON visibly rather than send a request Gemini rejects.
    if (schema.value.trim() && !mime.value) mime.value = 'application/json';
    changed();
  });
  embed.addEventListener('change', () => renderCode());

  // ---- token count -------------------------------------------------------------------------

  let countTimer: number | undefined;
  let counting: AbortController | undefined;
  function changed(): void {
    renderCode();
    window.clearTimeout(countTimer);
    countTimer = window.setTimeout(() => void countTokens(), 300);
  }

  async function countTokens(): Promise<void> {
    counting?.abort();
    const controller = (counting = new AbortController());
    let request;
    try {
      request = buildRequest(draft());
    } catch {
      tokenCount.textContent = '';
      return;
    }
    if (!deps.model()) return;
    tokenCount.textContent = 'counting tokens…';
    try {
      const n = await api.countTokens(deps.model(), request, controller.signal);
      if (controller.signal.aborted) return;
      tokenCount.dataset.tokens = String(n);
      tokenCount.textContent = `${n.toLocaleString('en')} input tokens (countTokens)`;
    } catch (err) {
      if (controller.signal.aborted) return;
      delete tokenCount.dataset.tokens;
      tokenCount.textContent = `token count failed: ${(err as Error).message}`;
    }
  }

  // ---- sending -----------------------------------------------------------------------------

  async function send(): Promise<void> {
    clearError(error);
    let request;
    try {
      request = buildRequest(draft());
    } catch (err) {
      showError(error, err instanceof DraftError ? err : new Error(String(err)));
      return;
    }
    const model = deps.model();
    if (!model) {
      showError(error, new Error('No model is selected: the model list could not be loaded (see the message above).'));
      return;
    }
    running?.abort();
    const controller = (running = new AbortController());
    sendButton.disabled = true;
    stopButton.disabled = false;
    stages.clearAnswer();
    answer.textContent = '';
    usage.textContent = '';
    setStatus('sending', 'sending…');
    let text = '';
    let chunks = 0;
    let last: UsageMetadata | undefined;
    let finish = '';
    try {
      for await (const chunk of api.streamGenerate(model, request, controller.signal)) {
        chunks++;
        text += chunkText(chunk);
        if (chunk.usageMetadata) last = chunk.usageMetadata;
        finish = chunk.candidates?.[0]?.finishReason ?? finish;
        // Partial text is shown as each event arrives.
        answer.textContent = text;
        setStatus('streaming', `streaming… ${chunks} chunk${chunks === 1 ? '' : 's'}`);
      }
      if (finish && finish !== 'STOP') text ||= `(no text: finishReason ${finish})`;
      answer.textContent = text;
      usage.textContent = usageText(last);
      const items = await stages.showAnswer(text);
      setStatus('done', `done: ${chunks} chunk${chunks === 1 ? '' : 's'}${finish ? `, finishReason ${finish}` : ''}${items.length ? `, ${items.length} item${items.length === 1 ? '' : 's'} drawn` : ''}`);
    } catch (err) {
      if ((err as Error).name === 'AbortError') setStatus('stopped', 'stopped');
      else {
        showError(error, err);
        setStatus('error', 'failed');
      }
    } finally {
      if (running === controller) running = undefined;
      sendButton.disabled = false;
      stopButton.disabled = true;
    }
  }

  sendButton.addEventListener('click', () => void send());
  stopButton.addEventListener('click', () => running?.abort());
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
  });
  byId<HTMLInputElement>('show-overlay').addEventListener('change', (e) => {
    stagesEl.classList.toggle('plain', !(e.target as HTMLInputElement).checked);
  });

  // ---- copy as code ------------------------------------------------------------------------

  function renderCode(): void {
    if (!codeLang) return;
    try {
      code.value = exportCode(codeLang, {
        base: api.base,
        model: deps.model() || 'gemini-2.5-flash',
        apiKey: api.headers()['x-goog-api-key'] ?? '',
        request: buildRequest(draft()),
        images,
        embed: embed.checked,
      });
    } catch (err) {
      code.value = `# ${(err as Error).message}`;
    }
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>('.export button[data-lang]')) {
    b.addEventListener('click', () => {
      codeLang = b.dataset.lang as Language;
      for (const o of document.querySelectorAll<HTMLButtonElement>('.export button[data-lang]')) o.classList.toggle('primary', o === b);
      renderCode();
    });
  }
  byId('copy').addEventListener('click', () => {
    // The Clipboard API needs a secure context; selecting and copying works everywhere else.
    if (navigator.clipboard && window.isSecureContext) void navigator.clipboard.writeText(code.value).catch(() => copyBySelection());
    else copyBySelection();
  });
  function copyBySelection(): void {
    code.select();
    document.execCommand('copy');
  }

  return { addFile, setUploadedFiles, changed };
}

function usageText(u: UsageMetadata | undefined): string {
  if (!u) return '';
  const details = (u.promptTokensDetails ?? []).map((d) => `${d.modality.toLowerCase()} ${d.tokenCount}`).join(', ');
  return `usageMetadata: prompt ${u.promptTokenCount ?? 0}${details ? ` (${details})` : ''} · answer ${u.candidatesTokenCount ?? 0} · total ${u.totalTokenCount ?? 0} tokens`;
}
