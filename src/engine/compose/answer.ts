/**
 * Facts + plan → the answer: sentences for prose, and a JSON value for the tasks whose
 * answer is data (detection, segmentation) or when JSON was asked for. Every noun in a
 * sentence comes from a detection, a text line or a measurement; when the plan names
 * something the models do not know, the answer says so instead of guessing.
 */
import type { DetectedObject, NormBox } from '../../vision/analysis.js';
import type { Plan, Targets, Task } from '../planner.js';
import type { Lang } from '../language.js';
import type { ImageFacts, RequestFacts } from './facts.js';
import { canonicalLabel, countedName, labelName } from './labels.js';
import { colourName, join, placeOf, say } from './phrases.js';
import { bandOf, closeAlternative, DEFAULT_THRESHOLD, type Band } from './confidence.js';
import { yesNo } from './yes-no.js';
import type { Answer } from './answer-type.js';
import { textPageSentences } from './text-page.js';

export type { Answer } from './answer-type.js';

/** Gemini's box convention: [ymin, xmin, ymax, xmax] as integers 0..1000. */
export function toBox2d(box: NormBox): [number, number, number, number] {
  const q = (v: number) => Math.max(0, Math.min(1000, Math.round(v * 1000)));
  return [q(box[1]), q(box[0]), q(box[3]), q(box[2])];
}

/** Past this many images, prose answers summarise instead of speaking of each image. */
export const MANY_IMAGES = 8;

/**
 * Every answer reads the same detections through one policy (./confidence.ts): `objects`
 * become the ones asserted (counted, boxed, named), the rest above the floor `possible`.
 */
export function applyConfidence(img: ImageFacts): ImageFacts {
  const keep = img.objects.map((o) => bandOf(o.score, img.detectThreshold ?? DEFAULT_THRESHOLD));
  const asserted = (b: Band | undefined) => b === 'sure' || b === 'likely';
  return {
    ...img,
    objects: img.objects.filter((_, i) => asserted(keep[i])),
    possible: [...(img.possible ?? []), ...img.objects.filter((_, i) => keep[i] === 'possible')],
    ...(img.objectColours ? { objectColours: img.objectColours.filter((_, i) => asserted(keep[i])) } : {}),
  };
}

export function composeAnswer(plan: Plan, allFacts: RequestFacts): Answer {
  const { lang, task } = plan;
  if (allFacts.images.length === 0) return { sentences: [say.noImage(lang)] };
  const boxList = task.kind === 'detect' || task.kind === 'segment';
  const facts: RequestFacts = { ...allFacts, images: allFacts.images.map(applyConfidence) };
  if (facts.images.length > MANY_IMAGES && !boxList && task.kind !== 'readText') return manyImages(facts, lang);
  switch (task.kind) {
    case 'detect':
      return detection(task.targets, facts, lang);
    case 'segment':
      return segmentation(task.targets, facts, lang);
    case 'caption':
      return { sentences: facts.images.flatMap((img) => caption(img, task.detail, lang, facts.images.length > 1)) };
    case 'readText':
      return readText(facts, lang);
    case 'count':
      return count(task.targets, facts, lang);
    case 'yesno':
      return yesNo(task, facts, lang) ?? cannotAnswer(facts, lang);
    case 'where':
      return where(task.targets, facts, lang);
    case 'colour':
      return colour(task.targets, facts, lang);
    case 'classify':
      return classify(task, facts, lang);
    case 'compare':
      return compare(facts, lang);
    case 'people':
      return people(facts, lang);
    case 'unknown':
      return cannotAnswer(facts, lang);
  }
}

/** A question the engine cannot place: said plainly, with what the models did see. */
function cannotAnswer(facts: RequestFacts, lang: Lang): Answer {
  return { sentences: [say.cannotAnswer(lang), ...facts.images.flatMap((img) => caption(img, 'short', lang, facts.images.length > 1))] };
}

const selected = (img: ImageFacts, targets: Targets) =>
  img.objects.filter((o) => targets.all || targets.classes.includes(canonicalLabel(o.label)));

function unknownNote(targets: Targets, lang: Lang): string[] {
  return targets.unknown.length ? [say.unknownThings(join(targets.unknown.map((u) => `"${u}"`), lang), lang)] : [];
}

function detection(targets: Targets, facts: RequestFacts, lang: Lang): Answer {
  const many = facts.images.length > 1;
  const items = facts.images.flatMap((img) =>
    selected(img, targets).map((o) => ({ box_2d: toBox2d(o.box), label: labelName(o.label, 'en'), ...(many ? { image: img.index } : {}) })),
  );
  return { sentences: unknownNote(targets, lang), data: items, dataIsAnswer: true };
}

function segmentation(targets: Targets, facts: RequestFacts, lang: Lang): Answer {
  const many = facts.images.length > 1;
  const items = facts.images.flatMap((img) =>
    (img.masks ?? [])
      .filter((m) => targets.all || targets.classes.includes(canonicalLabel(m.label)))
      .map((m) => ({ box_2d: toBox2d(m.box), mask: m.png, label: labelName(m.label, 'en'), ...(many ? { image: img.index } : {}) })),
  );
  return { sentences: unknownNote(targets, lang), data: items, dataIsAnswer: true };
}

/** Objects grouped by class, largest group first, as counted phrases. */
function groups(img: ImageFacts): Array<{ label: string; count: number; boxes: NormBox[]; objects: DetectedObject[] }> {
  const by = new Map<string, DetectedObject[]>();
  for (const o of img.objects) by.set(canonicalLabel(o.label), [...(by.get(canonicalLabel(o.label)) ?? []), o]);
  const area = (b: NormBox) => (b[2] - b[0]) * (b[3] - b[1]);
  return [...by.entries()]
    .map(([label, objects]) => ({ label, count: objects.length, boxes: objects.map((o) => o.box), objects }))
    .sort((a, b) => b.boxes.reduce((s, x) => s + area(x), 0) - a.boxes.reduce((s, x) => s + area(x), 0));
}

/** "a dog", or "a dog (or possibly a cat)" when the detector scored another class close behind. */
function namedGroup(x: { label: string; count: number; objects: DetectedObject[] }, lang: Lang, threshold: number | undefined): string {
  const name = countedName(x.label, x.count, lang);
  const alt = x.count === 1 ? closeAlternative(x.objects[0]!, threshold) : undefined;
  return alt ? say.orPossibly(name, countedName(alt.label, 1, lang), lang) : name;
}

function colourPhrase(img: ImageFacts, lang: Lang): string {
  const names = img.colours.slice(0, 3).map((c) => colourName(c.name, lang));
  return say.colours(join(names, lang), say.light(img.brightness, lang), lang);
}

/** Objects under the threshold, said as possible, at most two, each class once and not one already named. */
function possiblePhrase(img: ImageFacts, lang: Lang): string | undefined {
  const named = new Set(img.objects.map((o) => canonicalLabel(o.label)));
  const seen = new Set<string>();
  const items = (img.possible ?? [])
    .filter((o) => !named.has(canonicalLabel(o.label)) && !seen.has(canonicalLabel(o.label)) && seen.add(canonicalLabel(o.label)))
    .slice(0, 2)
    .map((o) => say.thingAt(countedName(o.label, 1, lang), placeOf(o.box, lang), lang));
  return items.length ? join(items, lang) : undefined;
}

function caption(img: ImageFacts, detail: 'short' | 'detailed', lang: Lang, many: boolean): string[] {
  const page = textPageSentences(img, lang, detail);
  // Next to a page of text only sure objects are named: a page half-taken for something else is still a page.
  const g = groups(img).filter((x) => !page.length || x.objects.some((o) => bandOf(o.score, img.detectThreshold ?? DEFAULT_THRESHOLD) === 'sure'));
  const out: string[] = [];
  const maybe = possiblePhrase(img, lang);
  if (img.notLooked === 'tiny') out.push(say.tooSmall(img.width, img.height, lang));
  else if (page.length) out.push(...(many ? [say.imageLabel(img.index, lang) + page[0]!, ...page.slice(1)] : page));
  else if (g.length === 0 && maybe) out.push(many ? say.imageLabel(img.index, lang) + say.unsureOnly(maybe, lang) : say.unsureOnly(maybe, lang));
  else if (g.length === 0) out.push(many ? say.imageHasNothing(img.index, lang) : say.nothingKnown(lang));
  if (g.length) {
    const things = join(g.map((x) => namedGroup(x, lang, img.detectThreshold)), lang);
    out.push(page.length ? say.alsoSee(things, lang) : many ? say.imageHas(img.index, things, lang) : say.photoOf(things, lang));
    const placed = g.filter((x) => x.count === 1).slice(0, detail === 'detailed' ? 6 : 3);
    if (placed.length && !page.length) {
      const parts = placed.map((x, i) =>
        i === 0
          ? say.isAt(labelName(x.label, lang), placeOf(x.boxes[0]!, lang), lang)
          : lang === 'en'
            ? `the ${x.label} at the ${placeOf(x.boxes[0]!, lang)}`
            : `${labelName(x.label, lang)}在${placeOf(x.boxes[0]!, lang)}`,
      );
      out.push(`${parts.join(lang === 'en' ? ', ' : '，')}${lang === 'en' ? '.' : '。'}`);
    }
    // Possible objects next to asserted ones are left out of captions: a caption is a
    // summary, and a hedged extra noun there misleads more than it helps.
  }
  const text = (img.text ?? []).map((l) => l.text).join(' ').trim();
  if (text && (!page.length || detail === 'detailed')) out.push(say.textReads(text, lang));
  if (detail === 'detailed' || (g.length === 0 && !page.length)) {
    out.push(colourPhrase(img, lang));
    if (detail === 'detailed') {
      out.push(say.dims(img.width, img.height, img.format.toUpperCase(), lang));
      out.push(...cameraSentences(img, lang));
    }
  }
  return out;
}

function readText(facts: RequestFacts, lang: Lang): Answer {
  const lines = facts.images.flatMap((img) => (img.text ?? []).map((l) => ({ ...l, image: img.index })));
  if (lines.length === 0) return { sentences: [say.noText(lang)], data: [] };
  const text = lines.map((l) => l.text).join('\n');
  return {
    sentences: [say.textReads(text, lang)],
    data: lines.map((l) => ({ text: l.text, box_2d: toBox2d(l.box), ...(facts.images.length > 1 ? { image: l.image } : {}) })),
  };
}

function targetName(targets: Targets, lang: Lang, plural = true): string {
  return join(targets.classes.map((c) => labelName(c, lang, plural ? 2 : 1)), lang);
}

function count(targets: Targets, facts: RequestFacts, lang: Lang): Answer {
  if (!targets.all && targets.classes.length === 0) return { sentences: unknownNote(targets, lang) };
  const found = facts.images.flatMap((img) => selected(img, targets));
  const byLabel = targets.all ? [...new Set(found.map((o) => canonicalLabel(o.label)))] : targets.classes;
  const sentences = byLabel.map((label) => {
    const n = found.filter((o) => canonicalLabel(o.label) === label).length;
    return n === 0 ? say.noneOf(labelName(label, lang, 2), lang) : say.countIs(countedName(label, n, lang), lang);
  });
  if (byLabel.length === 0) sentences.push(say.nothingKnown(lang));
  return {
    sentences: [...sentences, ...unknownNote(targets, lang)],
    data: Object.fromEntries(byLabel.map((l) => [labelName(l, 'en', 1), found.filter((o) => canonicalLabel(o.label) === l).length])),
  };
}

function where(targets: Targets, facts: RequestFacts, lang: Lang): Answer {
  if (targets.classes.length === 0 && !targets.all) return { sentences: unknownNote(targets, lang) };
  const sentences: string[] = [];
  const items: unknown[] = [];
  for (const img of facts.images) {
    for (const o of selected(img, targets)) {
      const box2d = toBox2d(o.box);
      sentences.push(`${say.isAt(labelName(o.label, lang), placeOf(o.box, lang), lang)} (box_2d [${box2d.join(', ')}])${lang === 'en' ? '.' : '。'}`);
      items.push({ box_2d: box2d, label: labelName(o.label, 'en') });
    }
  }
  if (sentences.length === 0) sentences.push(say.noneOf(targetName(targets, lang), lang));
  return { sentences: [...sentences, ...unknownNote(targets, lang)], data: items };
}

function colour(targets: Targets, facts: RequestFacts, lang: Lang): Answer {
  if (targets.all || targets.classes.length === 0) {
    const sentences = [...unknownNote(targets, lang), ...facts.images.map((img) => colourPhrase(img, lang))];
    return { sentences, data: facts.images.map((img) => img.colours) };
  }
  const sentences: string[] = [];
  for (const img of facts.images) {
    img.objects.forEach((o, i) => {
      if (!targets.classes.includes(canonicalLabel(o.label))) return;
      const cs = (img.objectColours?.[i] ?? []).slice(0, 2).map((c) => colourName(c.name, lang));
      if (cs.length) sentences.push(say.colourOf(labelName(o.label, lang), join(cs, lang), lang));
    });
  }
  if (sentences.length === 0) sentences.push(say.noneOf(targetName(targets, lang), lang));
  return { sentences: [...sentences, ...unknownNote(targets, lang)] };
}

function classify(task: Extract<Task, { kind: 'classify' }>, facts: RequestFacts, lang: Lang): Answer {
  const scored = task.options.map((opt) => {
    const best = facts.images
      .flatMap((img) => img.objects)
      .filter((o) => opt.classes.includes(canonicalLabel(o.label)))
      .reduce((m, o) => Math.max(m, o.score), 0);
    return { ...opt, best };
  });
  const unknown = scored.filter((o) => o.classes.length === 0).map((o) => `"${o.phrase}"`);
  const winner = scored.filter((o) => o.best > 0).sort((a, b) => b.best - a.best)[0];
  const sentences: string[] = [];
  if (winner) sentences.push(say.itIs(countedName(winner.classes[0]!, 1, lang), lang));
  else if (unknown.length < scored.length) sentences.push(say.neither(join(scored.map((o) => o.phrase), lang), lang));
  if (unknown.length) sentences.push(say.unknownThings(join(unknown, lang), lang));
  return { sentences, data: winner ? winner.phrase : null };
}

function compare(facts: RequestFacts, lang: Lang): Answer {
  if (facts.images.length < 2) return { sentences: [say.needTwoImages(lang), ...caption(facts.images[0]!, 'short', lang, false)] };
  const sentences: string[] = [];
  for (const d of facts.differences) {
    const [a, b] = d.images;
    const A = facts.images[a - 1]!;
    const B = facts.images[b - 1]!;
    if (d.identicalBytes) {
      sentences.push(say.sameFile(a, b, lang));
      continue;
    }
    const ga = new Map(groups(A).map((g) => [g.label, g.count]));
    const gb = new Map(groups(B).map((g) => [g.label, g.count]));
    const onlyA = [...ga.keys()].filter((l) => !gb.has(l));
    const onlyB = [...gb.keys()].filter((l) => !ga.has(l));
    if (onlyA.length) sentences.push(say.onlyIn(join(onlyA.map((l) => countedName(l, ga.get(l)!, lang)), lang), a, lang));
    if (onlyB.length) sentences.push(say.onlyIn(join(onlyB.map((l) => countedName(l, gb.get(l)!, lang)), lang), b, lang));
    for (const [l, n] of ga) {
      const m = gb.get(l);
      if (m !== undefined && m !== n)
        sentences.push(
          lang === 'en'
            ? `Image ${a} has ${countedName(l, n, lang)}, image ${b} has ${countedName(l, m, lang)}.`
            : `第 ${a} 張有${countedName(l, n, lang)}，第 ${b} 張有${countedName(l, m, lang)}。`.replace(/張/g, lang === 'zh-Hans' ? '张' : '張'),
        );
    }
    if (d.changedFraction === 0) sentences.push(say.samePixels(a, b, lang));
    else {
      const places = [...new Set(d.regions.slice(0, 3).map((r) => placeOf([r.box_2d[1] / 1000, r.box_2d[0] / 1000, r.box_2d[3] / 1000, r.box_2d[2] / 1000], lang)))];
      sentences.push(say.differIn(a, b, `${Math.round(d.changedFraction * 100)}%`, lang) + (places.length ? say.mostlyAt(join(places, lang), lang) : lang === 'en' ? '.' : '。'));
    }
    if (A.width !== B.width || A.height !== B.height) sentences.push(say.sizes(`${A.width}×${A.height}`, `${B.width}×${B.height}`, lang));
    const ca = A.colours[0]?.name;
    const cb = B.colours[0]?.name;
    if (ca && cb && ca !== cb)
      sentences.push(
        lang === 'en'
          ? `Image ${a} is mostly ${ca}, image ${b} mostly ${cb}.`
          : `第 ${a} 張主要是${colourName(ca, lang)}，第 ${b} 張主要是${colourName(cb, lang)}。`.replace(/張/g, lang === 'zh-Hans' ? '张' : '張'),
      );
    const ta = (A.text ?? []).map((l) => l.text).join(' ');
    const tb = (B.text ?? []).map((l) => l.text).join(' ');
    if (ta !== tb && (ta || tb)) sentences.push(lang === 'en' ? `The text differs: "${ta}" versus "${tb}".` : `文字不同：「${ta}」與「${tb}」。`);
  }
  const data = facts.differences.map((d) => ({
    images: d.images,
    identical: d.identicalBytes,
    changed_fraction: d.changedFraction,
    changed_regions: d.regions.map((r) => ({ box_2d: r.box_2d })),
  }));
  return { sentences, data };
}

/** A summary for requests with many images: how many, how alike, what was recognised overall. */
function manyImages(facts: RequestFacts, lang: Lang): Answer {
  const imgs = facts.images;
  const distinct = new Set(imgs.map((i) => i.hash)).size;
  const bySize = [...imgs].sort((a, b) => a.width * a.height - b.width * b.height);
  const dims = (i: ImageFacts) => `${i.width}×${i.height}`;
  const sentences = [say.manyImages(imgs.length, distinct, say.sizesRange(dims(bySize[0]!), dims(bySize.at(-1)!), lang), lang)];
  const tiny = imgs.filter((i) => i.notLooked === 'tiny').length;
  const limited = imgs.filter((i) => i.notLooked === 'limit').length;
  if (tiny) sentences.push(say.tinySkipped(tiny, lang));
  if (limited) sentences.push(say.limitSkipped(imgs.filter((i) => !i.notLooked).length, limited, lang));
  const all: ImageFacts = { ...imgs[0]!, objects: imgs.flatMap((i) => i.objects) };
  const g = groups(all);
  if (g.length) sentences.push(say.across(join(g.map((x) => countedName(x.label, x.count, lang)), lang), lang));
  return { sentences };
}

/** Questions about people: how many, their posture, and the expressions of visible faces. */
function people(facts: RequestFacts, lang: Lang): Answer {
  const sentences: string[] = [];
  const data: Array<{ image?: number; people: number; postures: string[]; faces: Array<{ box_2d: number[]; expression?: string }> }> = [];
  for (const img of facts.images) {
    const persons = img.objects.filter((o) => canonicalLabel(o.label) === 'person');
    const poses = img.people?.poses ?? [];
    const faces = img.people?.faces ?? [];
    const count = Math.max(persons.length, poses.length, faces.length);
    if (count === 0) sentences.push(say.noPeople(lang));
    else {
      sentences.push(say.peopleCount(countedName('person', count, lang), lang));
      for (const p of poses.filter((p) => p.posture && p.posture !== 'unknown').slice(0, 3))
        sentences.push(say.posture(p.posture!, placeOf(p.box, lang), lang));
      if (!img.people) sentences.push(say.noPeopleModel(lang));
      else if (faces.length === 0) sentences.push(say.noFaces(lang));
      else faces.slice(0, 5).forEach((f, i) => f.expression && sentences.push(say.faceExpression(i + 1, f.expression.label, lang)));
    }
    data.push({
      ...(facts.images.length > 1 ? { image: img.index } : {}),
      people: count,
      postures: poses.map((p) => p.posture ?? 'unknown'),
      faces: faces.map((f) => ({ box_2d: toBox2d(f.box), ...(f.expression ? { expression: f.expression.label } : {}) })),
    });
  }
  return { sentences, data: facts.images.length > 1 ? data : data[0] };
}

/** What the EXIF block says about the camera, the time and the place, in words. */
function cameraSentences(img: ImageFacts, lang: Lang): string[] {
  const c = img.camera;
  if (!c) return [];
  const when = c.taken?.replace('T', ' ');
  const model = c.model && c.make && !c.model.toLowerCase().startsWith(c.make.toLowerCase()) ? `${c.make} ${c.model}` : (c.model ?? c.make);
  const out = model ? [say.camera(model, when, lang)] : when ? [say.takenOn(when, lang)] : [];
  if (c.gps) out.push(say.place(c.gps.latitude, c.gps.longitude, lang));
  return out;
}
