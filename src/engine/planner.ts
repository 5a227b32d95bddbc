/**
 * Prompt + config → what to compute and how to answer. Pure: no models, no I/O. The
 * planner recognises the image-understanding tasks of the Gemini guide in English and
 * Chinese (Traditional and Simplified), with the instruction before or after the images,
 * and the objects a question is about. What it cannot place becomes an `unknown` task,
 * answered honestly rather than guessed.
 */
import { detectLanguage } from './language.js';
import type { Attribute, Lang, Plan, Targets, Task, Term } from '../seam/plan.js';

// The plan's types live in the seam, where providers read them; re-exported for engine/ code.
export type { Attribute, Plan, Targets, Task, Term } from '../seam/plan.js';

/**
 * Maps a phrase to COCO classes; words it cannot map are returned as unknown. `terms`, when
 * given, are the words that named classes ("vehicle" → eight classes), for answers about
 * a category as a whole.
 */
export type Vocabulary = (phrase: string) => { classes: string[]; unknown: string[]; terms?: Term[] };

const INTENTS: Array<[Task['kind'], RegExp]> = [
  ['segment', /segment|\bmasks?\b|分割|遮罩|區隔|区隔|輪廓|轮廓/i],
  ['detect', /detect|bounding box|box_2d|bbox|locate (all|every)|find all|偵測|侦测|检测|檢測|定界框|边界框|邊界框|框出|標出|标出/i],
  ['readText', /\b(read|ocr|transcribe)\b|what does (it|the \w+) say|\btext\b|written|文字|讀出|读出|寫著|写着|寫了|写了|上面寫|上面写|識別文字|识别文字/i],
  ['count', /how many|\bcount\b|number of|幾個|几个|幾隻|几只|幾輛|几辆|幾位|几位|多少/i],
  ['compare', /differen|compare|comparison|\bsame\b|\bchanged?\b|不同|差異|差异|比較|比较|一樣|一样|區別|区别|變化|变化/i],
  ['classify', /\bor\b.*\?|還是|还是/i],
  ['yesno', /^\s*(is|are) there\b|\bis there\b|\bare there\b|does (it|the image|this image|this) (contain|have|show)|\bany\b.*\?|有沒有|有没有|是否有|有.*嗎|有.*吗/i],
  ['where', /\bwhere\b|在哪|位置|哪裡|哪里/i],
  ['colour', /colou?r|顏色|颜色|什麼色|什么色/i],
  ['people', /\b(face|faces|expression|emotion|smil\w*|pose|posture|mood|feel\w*|happy|sad|angry|standing|sitting|lying|doing)\b|表情|情緒|情绪|臉|脸|姿勢|姿势|微笑|心情|在做什麼|在做什么|站著|站着|坐著|坐着/i],
  ['caption', /caption|describe|description|what is (this|in|shown)|what's (in|this)|what do you see|tell me about|summar|說明|说明|描述|這是什麼|这是什么|圖片裡有什麼|图片里有什么|有什麼|有什么|介紹|介绍|標題|标题/i],
];

const DETAILED = /detail|thorough|in depth|long|詳細|详细|仔細|仔细/i;

export function planTasks(prompt: string, opts: { imageCount: number; jsonRequested: boolean; vocabulary: Vocabulary }): Plan {
  const text = prompt.trim();
  const lang = detectLanguage(text);
  const json = opts.jsonRequested || /\bjson\b/i.test(text);
  const kind = intentOf(text, opts.imageCount, opts.vocabulary);
  const targets = () => targetsOf(text, opts.vocabulary);
  let task: Task;
  switch (kind) {
    case 'caption':
      task = { kind, detail: DETAILED.test(text) ? 'detailed' : 'short' };
      break;
    case 'detect':
    case 'segment':
    case 'count':
    case 'where':
    case 'colour':
      task = { kind, targets: targets() };
      break;
    case 'yesno':
      task = yesNoTask(text, lang, opts.vocabulary);
      break;
    case 'classify':
      task = { kind, options: classifyOptions(text, opts.vocabulary) };
      if (task.options.length < 2) task = { kind: 'caption', detail: 'short' };
      break;
    default:
      task = { kind } as Task;
  }
  return { lang, task, json };
}

const INTENT = Object.fromEntries(INTENTS) as Record<string, RegExp>;

/** Questions answered "yes" or "no": "Is there…", "Are the…", "Does it show…", "Can you see…", 有…嗎, 是不是… */
const YESNO_EN = /^\s*(?:(?:and|so|ok|okay|well|please|now)[,\s]+)?(is|are|was|were|does|do|did|can|could|has|have)\b/i;
/** …unless they ask for something to be done or named: "Can you describe…", "Could you read…", "Is it what…". */
const REQUEST_EN = /\b(describe|caption|read|transcribe|count|detect|segment|locate|list|give|compare|explain|outline|draw|summari[sz]e|what|which|who|where|how|why)\b/i;
const YESNO_ZH = /(嗎|吗)\s*[？?。]?\s*$|有沒有|有没有|是不是|是否|有無|有无/;
const REQUEST_ZH = /描述|說明|说明|介紹|介绍|讀|读|數一數|数一数|計算|计算|偵測|侦测|检测|檢測|分割|框出|標出|标出|找出|列出|告訴|告诉|什麼|什么|哪|幾|几|多少|為什麼|为什么|怎麼|怎么/;

function isYesNo(text: string, imageCount: number): boolean {
  if (imageCount > 1 && INTENT.compare!.test(text)) return false;
  // Posture and expression questions get the people answer, which says how each one is.
  if (INTENT.people!.test(text)) return false;
  return (YESNO_EN.test(text) && !REQUEST_EN.test(text)) || (YESNO_ZH.test(text) && !REQUEST_ZH.test(text));
}

function intentOf(text: string, imageCount: number, vocabulary: Vocabulary): Task['kind'] {
  if (text === '') return imageCount > 1 ? 'compare' : 'caption';
  // Boxes and masks first: "Can you detect the dogs?" wants the list, not a yes.
  if (INTENT.segment!.test(text)) return 'segment';
  if (INTENT.detect!.test(text)) return 'detect';
  if (INTENT.classify!.test(text) && classifyOptions(text, vocabulary).length >= 2) return 'classify';
  if (isYesNo(text, imageCount)) return 'yesno';
  for (const [kind, pattern] of INTENTS) {
    if (kind === 'compare' && imageCount < 2) continue;
    if (kind === 'classify') continue;
    if (pattern.test(text)) return kind;
  }
  // Several images and no clear question: what tells them apart is the useful answer.
  if (imageCount > 1) return 'compare';
  // A question we cannot place: answered honestly with what the models saw.
  return /\?|？|嗎|吗|什麼|什么|怎麼|怎么|為什麼|为什么/.test(text) ? 'unknown' : 'caption';
}

const NUMBERS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12, dozen: 12,
  一: 1, 二: 2, 兩: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10,
};
const num = (w: string | undefined): number | undefined => (w === undefined ? undefined : /^\d+$/.test(w) ? Number(w) : NUMBERS[w.toLowerCase()]);
const NUM = '(\\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen)';
const ZH_NUM = '(\\d+|[一二兩两三四五六七八九十])';

/** Colour words a yes/no question may ask about, as the measured colour names they cover. */
const COLOUR_WORDS: Array<[RegExp, string]> = [
  [/\bred\b|紅色|红色/i, 'red'], [/\bgreen\b|綠色|绿色/i, 'green'], [/\bblue\b|藍色|蓝色/i, 'blue'],
  [/\byellow\b|黃色|黄色/i, 'yellow'], [/\bblack\b|黑色/i, 'black'], [/\bwhite\b|白色/i, 'white'],
  [/\bgr[ae]y\b|灰色/i, 'grey'], [/\bbrown\b|棕色|咖啡色/i, 'brown'], [/\bpink\b|粉紅色|粉红色|粉色/i, 'pink'],
  [/\bpurple\b|\bviolet\b|紫色/i, 'purple'], [/\borange\b|橙色|橘色/i, 'orange'], [/\bbeige\b|米色/i, 'beige'],
];

function attributeOf(text: string, targets: Targets): Attribute {
  const t = text.toLowerCase();
  if (/\b(text|writing|written|words?|letters|characters|lettering)\b|文字|寫字|写字|字樣|字样/.test(t)) return { kind: 'text' };
  const count: Array<[RegExp, Extract<Attribute, { kind: 'count' }>['op']]> = [
    [new RegExp(`\\b(?:more than|over|greater than)\\s+${NUM}\\b`), '>'],
    [new RegExp(`\\b(?:fewer than|less than|under)\\s+${NUM}\\b`), '<'],
    [new RegExp(`\\bat least\\s+${NUM}\\b`), '>='],
    [new RegExp(`\\b(?:at most|no more than)\\s+${NUM}\\b`), '<='],
    [new RegExp(`\\b(?:exactly|only|just)\\s+${NUM}\\b`), '='],
    [new RegExp(`\\b(?:is|are) there\\s+${NUM}\\b`), '='],
    [new RegExp(`(?:超過|超过|多於|多于|大於|大于)${ZH_NUM}`), '>'],
    [new RegExp(`(?:少於|少于|不到|小於|小于)${ZH_NUM}`), '<'],
    [new RegExp(`至少${ZH_NUM}`), '>='],
    [new RegExp(`(?:只有|剛好|刚好|正好|恰好)${ZH_NUM}`), '='],
    [new RegExp(`有${ZH_NUM}[個个隻只輛辆位名匹頭头條条張张台架艘本把顆颗]`), '='],
  ];
  for (const [re, op] of count) {
    const m = re.exec(t);
    const n = num(m?.[1]?.replace(/^a dozen$/, 'dozen'));
    // "Is there one cat?" and 有一隻貓嗎 ask whether there is a cat at all.
    if (m && n !== undefined && !(op === '=' && n === 1 && !/only|just|exactly|只有|剛好|刚好|正好|恰好/.test(m[0]))) return { kind: 'count', op, n };
  }
  const named = targets.classes.length > 0;
  for (const [re, colour] of COLOUR_WORDS) {
    if (!re.test(t)) continue;
    // "orange" is the fruit only when nothing else is named: "Is the car orange?".
    if (colour === 'orange' && targets.classes.length === 1 && targets.classes[0] === 'orange' && !/\borange\b.*\borange\b/.test(t)) {
      if (!/\b(is|are) (this|it|that)\b/.test(t)) continue;
    }
    return { kind: 'colour', colour };
  }
  if (named) {
    const place = /\b(?:on|at|to|in|towards?)\s+the\s+(left|right|top|bottom|middle|centre|center)\b|\b(left|right)[- ]hand\b|在(?:畫面|画面|圖片|图片|照片|圖|图)?的?(左|右|中|上|下)/.exec(t);
    const word = place?.[1] ?? place?.[2] ?? place?.[3];
    if (word) {
      const map: Record<string, Extract<Attribute, { kind: 'position' }>['place']> = {
        left: 'left', right: 'right', top: 'top', bottom: 'bottom', middle: 'centre', centre: 'centre', center: 'centre',
        左: 'left', 右: 'right', 中: 'centre', 上: 'top', 下: 'bottom',
      };
      return { kind: 'position', place: map[word]! };
    }
    if (/\b(big|large|huge|enormous)\b|很大|大嗎|大吗|大不大/.test(t)) return { kind: 'size', size: 'large' };
    if (/\b(small|tiny|little)\b|很小|小嗎|小吗|小不小/.test(t)) return { kind: 'size', size: 'small' };
  } else {
    if (/\b(dark|dim)\b|很暗|暗嗎|暗吗|偏暗/.test(t)) return { kind: 'light', light: 'dark' };
    if (/\b(bright|well[- ]lit)\b|很亮|亮嗎|亮吗|明亮/.test(t)) return { kind: 'light', light: 'bright' };
  }
  return { kind: 'exists' };
}

function yesNoTask(text: string, lang: Lang, vocabulary: Vocabulary): Extract<Task, { kind: 'yesno' }> {
  let targets = targetsOf(text, vocabulary);
  const attribute = attributeOf(text, targets);
  if (attribute.kind === 'text' || attribute.kind === 'light') targets = { all: true, classes: [], unknown: [], terms: [] };
  if (attribute.kind === 'colour' && attribute.colour === 'orange' && targets.classes.length > 1) {
    // "Is the car orange?": the colour, not the fruit.
    targets = { ...targets, classes: targets.classes.filter((c) => c !== 'orange'), ...(targets.terms ? { terms: targets.terms.filter((x) => x.text !== 'orange') } : {}) };
  }
  const any = /\bor\b|或|還是|还是/.test(text);
  const copula = lang === 'en' ? /^\s*(is|are|was|were)\s+(this|it|that|these|those|they)\b/i.test(text) : /是/.test(text) && !/有/.test(text);
  return { kind: 'yesno', targets, attribute, any, copula };
}

/** The words naming what the question is about, without the instruction around them. */
export function targetPhrase(text: string): string {
  return text
    .replace(/\bThe box_2d should be[\s\S]*$/i, '')
    .replace(/\bOutput a JSON[\s\S]*$/i, '')
    .replace(/\b(in|of|from) (the|this|these|both) (image|images|photo|picture|pictures|photos)\b/gi, ' ')
    .replace(
      /\b(give|detect|segment|find|locate|show|count|how many|is there|are there|where is|where are|what colou?r is|what colou?r are|the|a|an|any|some|please|me|segmentation|masks?|bounding|boxes|box|for|of|all|every|prominent|items?|objects?|things?|there|is|are|in|image|picture|photo|and|with|label|labels|output|list)\b/gi,
      ' ',
    )
    .replace(/[。，、？！：；,.!?:;"'()\[\]{}]|圖片|图片|照片|影像|圖中|图中|裡|里|中的|請|请|給|给|我|的|有|幾個|几个|多少|哪裡|哪里|在|是|嗎|吗|偵測|侦测|检测|檢測|分割|遮罩|所有|全部/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function targetsOf(text: string, vocabulary: Vocabulary): Targets {
  const phrase = targetPhrase(text);
  const { classes, unknown, terms } = phrase ? vocabulary(phrase) : { classes: [], unknown: [], terms: undefined };
  // "all items" means every object only when nothing more specific was named: "the wooden
  // and glass items" names things the models do not know, and must not become "everything".
  const all = classes.length === 0 && unknown.length === 0;
  return { all, classes, unknown, ...(terms ? { terms } : {}) };
}

function classifyOptions(text: string, vocabulary: Vocabulary): Array<{ phrase: string; classes: string[] }> {
  const zh = /(?:是|像)?(.+?)(?:還是|还是)(.+?)[？?]?$/.exec(text);
  const en = /(?:is (?:this|it|that)|are (?:these|they)|does it show)\s+(?:an?\s+|the\s+)?(.+?)\s+or\s+(?:an?\s+|the\s+)?(.+?)\??$/i.exec(text);
  const m = en ?? zh;
  if (!m) return [];
  return [m[1]!, m[2]!].map((p) => {
    const phrase = p.replace(/^(這是|这是|這|这|是|一隻|一只|一個|一个|隻|只)/, '').trim();
    return { phrase, classes: vocabulary(phrase).classes };
  });
}
