/**
 * The images of the request, large, with the answer's overlay on a canvas over each, and
 * the answer's JSON entries beside them. Hovering a shape highlights its entry and the
 * reverse; both go through `setActive`.
 */
import { h } from './dom.js';
import { drawOverlay, entryText, itemAt, overlayItemsOf, renderMask, type OverlayItem } from './overlay.js';
import type { ImageInput } from './request.js';

interface Stage {
  img: HTMLImageElement;
  canvas: HTMLCanvasElement;
  loaded: Promise<void>;
}

export class Stages {
  private stages: Stage[] = [];
  private items: OverlayItem[] = [];
  private masks = new Map<number, HTMLCanvasElement>();
  private active: number | null = null;
  /** Bumped by every new answer, so a slow mask decode of an old answer draws nothing. */
  private generation = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly entries: HTMLOListElement,
  ) {}

  /** Rebuilds the stages for these images (the previous answer's overlay goes with them). */
  setImages(images: ImageInput[]): void {
    this.clearAnswer();
    if (images.length === 0) {
      this.container.replaceChildren(h('p', { class: 'muted' }, 'The images you add appear here.'));
      this.stages = [];
      return;
    }
    this.stages = images.map((image, i) => {
      const img = h('img', { src: image.preview.url, alt: image.name, draggable: 'false' });
      const canvas = h('canvas', { 'data-image': i });
      const loaded = img.decode().then(
        () => {
          // The overlay is drawn in the preview's own pixels; CSS scales both together.
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
        },
        () => undefined,
      );
      canvas.addEventListener('mousemove', (e) => {
        const r = canvas.getBoundingClientRect();
        const x = ((e.clientX - r.left) / r.width) * canvas.width;
        const y = ((e.clientY - r.top) / r.height) * canvas.height;
        this.setActive(itemAt(this.items, i, x, y, canvas)?.index ?? null);
      });
      canvas.addEventListener('mouseleave', () => this.setActive(null));
      return { img, canvas, loaded };
    });
    this.container.replaceChildren(
      ...this.stages.map((s, i) =>
        h(
          'figure',
          { class: 'stage', 'data-image': i },
          // The canvas covers exactly the image: the caption sits outside the frame.
          h('div', { class: 'frame' }, s.img, s.canvas),
          h('figcaption', {}, `${i + 1}. ${images[i]!.name} · ${images[i]!.preview.width}×${images[i]!.preview.height}`),
        ),
      ),
    );
  }

  clearAnswer(): void {
    this.generation++;
    this.items = [];
    this.masks.clear();
    this.active = null;
    this.entries.replaceChildren();
    this.redraw();
  }

  /** Draws what the answer holds (boxes, masks, changed regions); resolves once drawn. */
  async showAnswer(text: string): Promise<OverlayItem[]> {
    const generation = ++this.generation;
    const items = overlayItemsOf(text, this.stages.length);
    await Promise.all(this.stages.map((s) => s.loaded));
    const masks = new Map<number, HTMLCanvasElement>();
    await Promise.all(
      items.map(async (item) => {
        const canvas = this.stages[item.image]?.canvas;
        if (!canvas) return;
        const m = await renderMask(item, canvas).catch(() => undefined);
        if (m) masks.set(item.index, m);
      }),
    );
    if (generation !== this.generation) return items;
    this.items = items;
    this.masks = masks;
    this.active = null;
    this.renderEntries();
    this.redraw();
    return items;
  }

  private renderEntries(): void {
    this.entries.replaceChildren(
      ...this.items.map((item) => {
        const li = h(
          'li',
          { 'data-item': item.index, 'data-colour': item.colour, 'data-image': item.image, style: `border-left-color: ${item.colour}` },
          h('code', {}, entryText(item)),
        );
        li.addEventListener('mouseenter', () => this.setActive(item.index));
        li.addEventListener('mouseleave', () => this.setActive(null));
        return li;
      }),
    );
  }

  setActive(index: number | null): void {
    if (index === this.active) return;
    this.active = index;
    for (const li of this.entries.children) li.classList.toggle('active', (li as HTMLElement).dataset.item === String(index));
    this.redraw();
  }

  private redraw(): void {
    this.stages.forEach((s, i) =>
      drawOverlay(
        s.canvas,
        this.items.filter((it) => it.image === i),
        this.masks,
        this.active,
      ),
    );
  }
}
