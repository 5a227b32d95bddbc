/**
 * Yes/no questions, answered "Yes"/"No" first, in one sentence, with the evidence:
 * "Yes — a cat, in the centre.", "No — I see a dog, not a cat.", 有，一隻貓，在中間。
 * Objects come through the confidence policy (./confidence.ts): an answer resting on a
 * "likely" detection says "probably", one resting on a "possible" one says "Possibly", and
 * nothing under the detector's threshold is ever denied with a plain "No".
 */
import type { DetectedObject, NormBox } from '../../vision/analysis.js';
import { isNarrowerTerm, supercategoryOf } from '../../vision/detect/coco.js';
import type { Lang } from '../language.js';
import type { Attribute, Task, Term } from '../planner.js';
import type { Answer } from './answer-type.js';
import { bandOf, closeAlternative, DEFAULT_THRESHOLD } from './confidence.js';
import type { ImageFacts, RequestFacts } from './facts.js';
import { canonicalLabel, countedName, labelName } from './labels.js';
import { atPlace, colourName, join, placeOf, say } from './phrases.js';

type YesNoTask = Extract<Task, { kind: 'yesno' }>;
/** Strongest first. */
type Verdict = 'yes' | 'probably' | 'possibly' | 'probablyNot' | 'no';

interface Seen {
  o: DetectedObject;
  img: ImageFacts;
  colours?: Array<{ name: string; fraction: number }>;
}

const T = (en: string, hant: string, hans: string) => ({ en, 'zh-Hant': hant, 'zh-Hans': hans });

/**
 * The leading word, by verdict and by how the question was asked in Chinese (有 or 是).
 * "Yes"/"No" stay first even when hedged, so the answer can be read at a glance; the
 * hedge follows ("Yes — probably a dog", "No, probably not — …").
 */
function lead(v: Verdict, copula: boolean, lang: Lang): string {
  const words: Record<Verdict, ReturnType<typeof T>> = copula
    ? { yes: T('Yes', '是', '是'), probably: T('Yes', '是', '是'), possibly: T('Possibly', '可能是', '可能是'), probablyNot: T('No, probably not', '不是（不太確定）', '不是（不太确定）'), no: T('No', '不是', '不是') }
    : { yes: T('Yes', '有', '有'), probably: T('Yes', '有', '有'), possibly: T('Possibly', '可能有', '可能有'), probablyNot: T('No, probably not', '沒有（不太確定）', '没有（不太确定）'), no: T('No', '沒有', '没有') };
  return words[v][lang];
}

function sentence(v: Verdict, evidence: string, copula: boolean, lang: Lang): string {
  return lang === 'en' ? `${lead(v, copula, lang)} — ${evidence}.` : `${lead(v, copula, lang)}，${evidence}。`;
}

const threshold = (img: ImageFacts) => img.detectThreshold ?? DEFAULT_THRESHOLD;
const isSure = (s: Seen) => bandOf(s.o.score, threshold(s.img)) === 'sure';
const area = (b: NormBox) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/** "a cat, in the centre"; "two dogs"; "a motorcycle, at the left, and a car" (largest first). */
function describe(seen: Seen[], lang: Lang, hedge: boolean, places = true): string {
  const by = new Map<string, Seen[]>();
  for (const s of [...seen].sort((a, b) => area(b.o.box) - area(a.o.box))) by.set(canonicalLabel(s.o.label), [...(by.get(canonicalLabel(s.o.label)) ?? []), s]);
  const groups = [...by.entries()].slice(0, 3);
  const named = groups.map(([label, list]) => ({ name: countedName(label, list.length, lang), place: list.length === 1 && places ? atPlace(placeOf(list[0]!.o.box, lang), lang) : undefined }));
  const text = named.some((n) => n.place)
    ? lang === 'en'
      ? named.map((n) => (n.place ? `${n.name}, ${n.place}` : n.name)).join(', and ')
      : named.map((n) => (n.place ? `${n.name}，${n.place}` : n.name)).join('；')
    : join(named.map((n) => n.name), lang);
  return hedge ? T(`probably ${text}`, `看起來是${text}`, `看起来是${text}`)[lang] : text;
}

/** The name of what was asked about, for "no cat" / "no vehicle". */
function termName(term: Term, lang: Lang): string {
  return term.classes.length === 1 ? labelName(term.classes[0]!, lang) : term.text;
}

function termsOf(task: YesNoTask): Term[] {
  const t = task.targets;
  return t.terms?.length ? t.terms.filter((x) => x.classes.length) : t.classes.map((c) => ({ text: c, classes: [c] }));
}

function objectsIn(facts: RequestFacts): Seen[] {
  return facts.images.flatMap((img) => img.objects.map((o, i) => ({ o, img, ...(img.objectColours?.[i] ? { colours: img.objectColours[i]! } : {}) })));
}

function possibleIn(facts: RequestFacts): Seen[] {
  return facts.images.flatMap((img) => (img.possible ?? []).map((o) => ({ o, img })));
}

/** The answer, or undefined when the question names nothing the engine can check. */
export function yesNo(task: YesNoTask, facts: RequestFacts, lang: Lang): Answer | undefined {
  const a = task.attribute;
  if (a.kind === 'text') return textAnswer(facts, task.copula, lang);
  if (a.kind === 'light') return lightAnswer(a, facts, task.copula, lang);
  const terms = termsOf(task);
  // "Is this dog a labrador?": the question turns on a word the models do not know, so the
  // honest answer is that they cannot tell, whatever else they see.
  if (task.targets.unknown.length && (terms.length === 0 || a.kind === 'exists')) return cantTell(task.targets.unknown, task.copula, lang);
  if (terms.length === 0) {
    if (a.kind === 'count') return countAnswer(a, objectsIn(facts), possibleIn(facts), task, lang, undefined);
    if (a.kind === 'colour') return imageColourAnswer(a.colour, facts, task.copula, lang);
    return undefined;
  }
  // "Is this a golden eagle?" with a bird in view: the class is seen, the kind cannot be.
  const narrow = a.kind === 'exists' && terms.length === 1 && isNarrowerTerm(terms[0]!.text) ? narrowerAnswer(terms[0]!, objectsIn(facts), task.copula, lang) : undefined;
  if (narrow) return narrow;
  const unknownNote = task.targets.unknown.length ? [cantTell(task.targets.unknown, task.copula, lang).sentences[0]!] : [];
  const answer = (() => {
    switch (a.kind) {
      case 'count':
        return countAnswer(a, objectsIn(facts), possibleIn(facts), task, lang, terms);
      case 'colour':
      case 'position':
      case 'size':
        return propertyAnswer(a, terms, facts, task.copula, lang);
      default:
        return existsAnswer(task, terms, facts, lang);
    }
  })();
  return { ...answer, sentences: [...answer.sentences, ...unknownNote] };
}

function existsAnswer(task: YesNoTask, terms: Term[], facts: RequestFacts, lang: Lang): Answer {
  const seen = objectsIn(facts);
  const maybe = possibleIn(facts);
  const per = terms.map((term) => {
    const has = (label: string) => term.classes.includes(canonicalLabel(label));
    const found = seen.filter((s) => has(s.o.label));
    const low = maybe.filter((s) => has(s.o.label));
    const alt = (s: Seen) => closeAlternative(s.o, threshold(s.img));
    const alts = seen.filter((s) => !has(s.o.label) && has(alt(s)?.label ?? ''));
    // Found, but every one only likely and as likely something else: "could also be".
    const doubtful = found.length > 0 && found.every((s) => alt(s) && !has(alt(s)!.label));
    const verdict: Verdict = found.some((s) => isSure(s) && !alt(s)) ? 'yes' : doubtful ? 'possibly' : found.length ? 'probably' : low.length || alts.length ? 'possibly' : 'no';
    return { term, found: doubtful ? [] : found, low, alts: doubtful ? found : alts, verdict };
  });
  const order: Verdict[] = ['yes', 'probably', 'possibly', 'probablyNot', 'no'];
  const rank = (v: Verdict) => order.indexOf(v);
  let verdict: Verdict = per.map((p): Verdict => p.verdict).reduce((x, y) => (task.any ? (rank(y) < rank(x) ? y : x) : rank(y) > rank(x) ? y : x));
  let evidence: string;
  const partly = !task.any && per.some((p) => p.found.length) && per.some((p) => p.verdict === 'no');
  if (partly) {
    // "Is there a dog and a cat?": what was found, and what was not.
    verdict = 'no';
    const missing = join(per.filter((p) => p.verdict === 'no').map((p) => termName(p.term, lang)), lang);
    evidence = describe(per.flatMap((p) => p.found), lang, false) + T(`, but no ${missing}`, `，但沒有${missing}`, `，但没有${missing}`)[lang];
  } else if (verdict === 'yes' || verdict === 'probably') {
    const found = per.flatMap((p) => p.found);
    const missing = per.filter((p) => p.verdict !== 'yes' && p.verdict !== 'probably').map((p) => termName(p.term, lang));
    evidence = describe(found, lang, verdict === 'probably');
    if (missing.length && !task.any) evidence += T(`, but no ${join(missing, lang)}`, `，但沒有${join(missing, lang)}`, `，但没有${join(missing, lang)}`)[lang];
  } else if (verdict === 'possibly') {
    const p = per.find((x) => x.verdict === 'possibly')!;
    const low = p.low.sort((a, b) => b.o.score - a.o.score)[0];
    if (low) {
      const where = atPlace(placeOf(low.o.box, lang), lang);
      evidence = T(
        `perhaps ${countedName(low.o.label, 1, lang)}, ${where}, but the detector is not sure`,
        `${where}也許有${countedName(low.o.label, 1, lang)}，但偵測器不確定`,
        `${where}也许有${countedName(low.o.label, 1, lang)}，但检测器不确定`,
      )[lang];
    } else {
      const s = p.alts[0]!;
      const alt = closeAlternative(s.o, threshold(s.img))!;
      const where = atPlace(placeOf(s.o.box, lang), lang);
      evidence = T(
        `the ${labelName(s.o.label, lang)} ${where} could also be ${countedName(alt.label, 1, lang)}`,
        `${where}的${labelName(s.o.label, lang)}也可能是${labelName(alt.label, lang)}`,
        `${where}的${labelName(s.o.label, lang)}也可能是${labelName(alt.label, lang)}`,
      )[lang];
    }
  } else {
    const asked = per.filter((p) => p.verdict === 'no');
    const askedClasses = asked.flatMap((p) => p.term.classes);
    const kinds = new Set(askedClasses.map(supercategoryOf).filter(Boolean));
    // What stands where the asked thing would: a dog when a cat was asked about.
    const rivals = seen.filter((s) => kinds.has(supercategoryOf(canonicalLabel(s.o.label))) && !askedClasses.includes(canonicalLabel(s.o.label)));
    const missing = join(asked.map((p) => termName(p.term, lang)), lang);
    if (rivals.length) {
      const rival = rivals.sort((a, b) => b.o.score - a.o.score)[0]!;
      if (!isSure(rival)) {
        verdict = 'probablyNot';
        evidence = T(
          `it looks more like ${countedName(rival.o.label, 1, lang)} than ${/^[aeiou]/i.test(missing) ? 'an' : 'a'} ${missing}`,
          `看起來比較像${labelName(rival.o.label, lang)}，不像${missing}`,
          `看起来比较像${labelName(rival.o.label, lang)}，不像${missing}`,
        )[lang];
      } else
        evidence = T(
          `I see ${describe(rivals, lang, false, false)}, not ${/^[aeiou]/i.test(missing) ? 'an' : 'a'} ${missing}`,
          `我看到的是${describe(rivals, lang, false, false)}，不是${missing}`,
          `我看到的是${describe(rivals, lang, false, false)}，不是${missing}`,
        )[lang];
    } else if (seen.length) {
      const others = describe(seen, lang, false, false);
      evidence = T(`I see ${others}, but no ${missing}`, `我看到${others}，但沒有${missing}`, `我看到${others}，但没有${missing}`)[lang];
    } else evidence = T(`I see no ${missing}`, `我沒有看到${missing}`, `我没有看到${missing}`)[lang];
  }
  const yes = verdict === 'yes' || verdict === 'probably';
  const no = verdict === 'no' || verdict === 'probablyNot';
  return {
    sentences: [sentence(verdict, evidence, task.copula, lang)],
    data: { answer: yes ? true : no ? false : null, confidence: verdict, found: per.flatMap((p) => p.found).map((s) => labelName(s.o.label, 'en')) },
  };
}

function countAnswer(a: Extract<Attribute, { kind: 'count' }>, seen: Seen[], maybe: Seen[], task: YesNoTask, lang: Lang, terms: Term[] | undefined): Answer {
  const classes = terms?.flatMap((t) => t.classes);
  const match = (s: Seen) => !classes || classes.includes(canonicalLabel(s.o.label));
  const n = seen.filter(match).length;
  const extra = maybe.filter(match).length;
  const test = (k: number) => (a.op === '>' ? k > a.n : a.op === '>=' ? k >= a.n : a.op === '<' ? k < a.n : a.op === '<=' ? k <= a.n : k === a.n);
  const label = classes && classes.length === 1 ? classes[0]! : undefined;
  const counted = label ? (n === 1 && lang === 'en' ? `one ${labelName(label, lang)}` : countedName(label, n, lang)) : T(`${n} object${n === 1 ? '' : 's'}`, `${n} 個物體`, `${n} 个物体`)[lang];
  const flips = extra > 0 && test(n) !== test(n + extra);
  const verdict: Verdict = flips ? 'possibly' : test(n) ? 'yes' : 'no';
  let evidence = n === 0 && label ? T(`I see no ${labelName(label, lang, 2)}`, `我沒有看到${labelName(label, lang)}`, `我没有看到${labelName(label, lang)}`)[lang] : T(`I count ${counted}`, `我數到${counted}`, `我数到${counted}`)[lang];
  if (extra) evidence += T(`, and possibly ${extra} more`, `，可能還有 ${extra} 個`, `，可能还有 ${extra} 个`)[lang];
  return { sentences: [sentence(verdict, evidence, task.copula, lang)], data: { answer: verdict === 'possibly' ? null : verdict === 'yes', count: n } };
}

/** Measured colour names that count as the colour word asked about. */
const FAMILY: Record<string, string[]> = {
  red: ['red', 'dark red'], blue: ['blue', 'light blue', 'navy', 'teal'], green: ['green', 'dark green', 'olive', 'teal'],
  grey: ['grey', 'dark grey', 'light grey'], white: ['white', 'light grey'], black: ['black', 'dark grey'],
  brown: ['brown', 'beige', 'dark red'], yellow: ['yellow', 'beige', 'olive'], pink: ['pink'], purple: ['purple'],
  orange: ['orange'], beige: ['beige', 'light grey'],
};

/** Share of an object's centre a colour must cover to answer "yes, partly". */
const MIN_COLOUR_SHARE = 0.15;

function propertyAnswer(a: Extract<Attribute, { kind: 'colour' | 'position' | 'size' }>, terms: Term[], facts: RequestFacts, copula: boolean, lang: Lang): Answer {
  const classes = terms.flatMap((t) => t.classes);
  const found = objectsIn(facts)
    .filter((s) => classes.includes(canonicalLabel(s.o.label)))
    .sort((x, y) => area(y.o.box) - area(x.o.box));
  const missing = join(terms.map((t) => termName(t, lang)), lang);
  if (found.length === 0) {
    const low = possibleIn(facts).filter((s) => classes.includes(canonicalLabel(s.o.label)));
    const ev = low.length
      ? T(`I am not sure there is ${/^[aeiou]/i.test(missing) ? 'an' : 'a'} ${missing} at all`, `我不確定有沒有${missing}`, `我不确定有没有${missing}`)[lang]
      : T(`I see no ${missing}`, `我沒有看到${missing}`, `我没有看到${missing}`)[lang];
    return { sentences: [sentence(low.length ? 'possibly' : 'no', ev, copula, lang)], data: { answer: low.length ? null : false } };
  }
  const name = (s: Seen) => labelName(s.o.label, lang);
  let hit: Seen | undefined;
  let evidence: (s: Seen) => string;
  if (a.kind === 'colour') {
    const family = FAMILY[a.colour] ?? [a.colour];
    const share = (s: Seen) => (s.colours ?? []).filter((c) => family.includes(c.name)).reduce((t, c) => t + c.fraction, 0);
    const main = (s: Seen) => (s.colours ?? []).slice(0, 2).map((c) => c.name);
    if (!found.some((s) => s.colours)) return { sentences: [T("I can't tell: the colours of the objects were not measured.", '我無法判斷：沒有測量物體的顏色。', '我无法判断：没有测量物体的颜色。')[lang]] };
    // The colour asked about is the main one, or a good part of the object (a red fairing on a grey motorcycle).
    hit = found.find((s) => family.includes(main(s)[0] ?? '') || share(s) >= MIN_COLOUR_SHARE);
    evidence = (s) => {
      const names = main(s);
      const partly = !family.includes(names[0] ?? '') && share(s) >= MIN_COLOUR_SHARE;
      const pct = Math.round(share(s) * 100);
      return partly
        ? T(`the ${name(s)} is partly ${a.colour} (about ${pct}%), mostly ${join(names, lang)}`, `${name(s)}有一部分是${colourName(a.colour, lang)}（約 ${pct}%），主要是${join(names.map((c) => colourName(c, lang)), lang)}`, `${name(s)}有一部分是${colourName(a.colour, lang)}（约 ${pct}%），主要是${join(names.map((c) => colourName(c, lang)), lang)}`)[lang]
        : T(`the ${name(s)} is mostly ${join(names, lang)}`, `${name(s)}主要是${join(names.map((c) => colourName(c, lang)), lang)}`, `${name(s)}主要是${join(names.map((c) => colourName(c, lang)), lang)}`)[lang];
    };
  } else if (a.kind === 'position') {
    const at = (s: Seen) => {
      const cx = (s.o.box[0] + s.o.box[2]) / 2;
      const cy = (s.o.box[1] + s.o.box[3]) / 2;
      return { left: cx < 0.4, right: cx > 0.6, top: cy < 0.4, bottom: cy > 0.6, centre: cx > 0.3 && cx < 0.7 && cy > 0.3 && cy < 0.7 }[a.place];
    };
    hit = found.find(at);
    evidence = (s) => (lang === 'en' ? `the ${name(s)} is ${atPlace(placeOf(s.o.box, lang), lang)}` : `${name(s)}${atPlace(placeOf(s.o.box, lang), lang)}`);
  } else {
    const share = (s: Seen) => area(s.o.box);
    hit = found.find((s) => (a.size === 'large' ? share(s) >= 0.2 : share(s) < 0.05));
    evidence = (s) =>
      T(
        `the ${name(s)} fills about ${Math.round(share(s) * 100)}% of the picture`,
        `${name(s)}約佔畫面的 ${Math.round(share(s) * 100)}%`,
        `${name(s)}约占画面的 ${Math.round(share(s) * 100)}%`,
      )[lang];
  }
  const s = hit ?? found[0]!;
  const verdict: Verdict = hit ? (isSure(hit) ? 'yes' : 'probably') : 'no';
  return { sentences: [sentence(verdict === 'probably' ? 'yes' : verdict, evidence(s), true, lang)], data: { answer: Boolean(hit) } };
}

function imageColourAnswer(colour: string, facts: RequestFacts, copula: boolean, lang: Lang): Answer {
  const img = facts.images[0]!;
  const names = img.colours.slice(0, 3).map((c) => c.name);
  const hit = names.some((n) => (FAMILY[colour] ?? [colour]).includes(n));
  const ev = T(`the image is mostly ${join(names, lang)}`, `畫面主要是${join(names.map((n) => colourName(n, lang)), lang)}`, `画面主要是${join(names.map((n) => colourName(n, lang)), lang)}`)[lang];
  return { sentences: [sentence(hit ? 'yes' : 'no', ev, copula, lang)], data: { answer: hit } };
}

function textAnswer(facts: RequestFacts, copula: boolean, lang: Lang): Answer {
  const lines = facts.images.flatMap((img) => img.text ?? []).filter((l) => /[\p{L}\p{N}]/u.test(l.text));
  if (lines.length === 0)
    return { sentences: [sentence('no', T('I find no readable text', '我找不到可辨識的文字', '我找不到可辨识的文字')[lang], copula, lang)], data: { answer: false } };
  const first = lines[0]!.text.length > 60 ? `${lines[0]!.text.slice(0, 59)}…` : lines[0]!.text;
  const more = lines.length > 1;
  const ev = T(
    `it reads "${first}"${more ? ` and ${lines.length - 1} more line${lines.length > 2 ? 's' : ''}` : ''}`,
    `寫著「${first}」${more ? `等 ${lines.length} 行` : ''}`,
    `写着“${first}”${more ? `等 ${lines.length} 行` : ''}`,
  )[lang];
  return { sentences: [sentence('yes', ev, copula, lang)], data: { answer: true, text: lines.map((l) => l.text) } };
}

function lightAnswer(a: Extract<Attribute, { kind: 'light' }>, facts: RequestFacts, copula: boolean, lang: Lang): Answer {
  const b = facts.images.reduce((s, img) => s + img.brightness, 0) / facts.images.length;
  const hit = a.light === 'dark' ? b < 0.3 : b > 0.6;
  const ev = T(`its mean brightness is ${Math.round(b * 100)}%`, `平均亮度是 ${Math.round(b * 100)}%`, `平均亮度是 ${Math.round(b * 100)}%`)[lang];
  return { sentences: [sentence(hit ? 'yes' : 'no', ev, copula, lang)], data: { answer: hit, brightness: b } };
}

function narrowerAnswer(term: Term, seen: Seen[], copula: boolean, lang: Lang): Answer | undefined {
  const found = seen.filter((s) => term.classes.includes(canonicalLabel(s.o.label)));
  if (found.length === 0) return undefined;
  const cls = labelName(term.classes[0]!, lang);
  return {
    sentences: [
      T(
        `I can't tell whether ${copula ? 'it is' : 'there is'} ${/^[aeiou]/i.test(term.text) ? 'an' : 'a'} ${term.text}: I see ${describe(found, lang, false)}, but the offline models do not tell kinds of ${labelName(term.classes[0]!, lang, 2)} apart.`,
        `我無法判斷${copula ? '是不是' : '有沒有'}${term.text}：我看到${describe(found, lang, false)}，但離線模型分辨不出${cls}的種類。`,
        `我无法判断${copula ? '是不是' : '有没有'}${term.text}：我看到${describe(found, lang, false)}，但离线模型分辨不出${cls}的种类。`,
      )[lang],
    ],
    data: { answer: null, found: found.map((s) => labelName(s.o.label, 'en')) },
  };
}

function cantTell(unknown: string[], copula: boolean, lang: Lang): Answer {
  // "an owl" but "a unicorn", "a user": the vowel letters that sound like "you" take "a".
  const article = (u: string) => (/^([aeio]|u(?!ni|s[eu]|ti|re))/i.test(u) ? 'an' : 'a');
  const things = join(unknown.map((u) => (lang === 'en' ? `${article(u)} ${u}` : u)), lang);
  return {
    sentences: [
      T(
        `I can't tell whether ${copula ? 'it is' : 'there is'} ${things}: the offline models know only 80 everyday object kinds (people, animals, vehicles, household items…), plus text and colours. A vision-language model could answer this; none is installed in this server.`,
        `我無法判斷${copula ? '是不是' : '是否有'}${things}：離線模型只認得 80 種常見物體（人、動物、車輛、家居用品……）以及文字和顏色。視覺語言模型可以回答這個問題，但這台伺服器沒有安裝。`,
        `我无法判断${copula ? '是不是' : '是否有'}${things}：离线模型只认得 80 种常见物体（人、动物、车辆、家居用品……）以及文字和颜色。视觉语言模型可以回答这个问题，但这台服务器没有安装。`,
      )[lang],
    ],
    data: { answer: null },
  };
}
