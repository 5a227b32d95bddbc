/** Tiny DOM helpers: the playground is small enough not to need a framework. */

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** `h('button', { class: 'x', onclick: f }, 'Send')`: an element with attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  el.append(...children);
  return el;
}

/** The element with this id, typed; throws when index.html lacks it (a build mistake, not a user error). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** "in 47 h 59 min", "in 12 min", "expired". */
export function timeUntil(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return iso;
  if (ms <= 0) return 'expired';
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `in ${min} min`;
  return `in ${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Shows an error's message in an alert element; never an empty box. */
export function showError(el: HTMLElement, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  el.textContent = message.trim() || 'Something failed, and the server gave no message.';
  el.hidden = false;
}

export function clearError(el: HTMLElement): void {
  el.textContent = '';
  el.hidden = true;
}
