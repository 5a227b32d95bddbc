/**
 * Prompt + config → what to compute and how to answer. Pure: no models, no I/O. The
 * planner recognises the image-understanding tasks of the Gemini guide in English and
 * Chinese (Traditional and Simplified), with the instruction before or after the images,
 * and the objects a question is about. What it cannot place becomes an `unknown` task,
 * answered honestly rather than guessed.
 */
import { detectLanguage, type Lang } from './language.js';

/** Maps a phrase to COCO classes; words it cannot map are returned as unknown. */
export type Vocabulary = (phrase: string) => { classes: string[]; unknown: string[] };

export interface Targets {
  /** Every prominent object, not named ones. */
  all: boolean;
  classes: string[];
  /** Things the user named that the models do not know. */
  unknown: string[];
}

export type Task =
  | { kind: 'caption'; detail: 'short' | 'detailed' }
  | { kind: 'detect'; targets: Targets }
  | { kind: 'segment'; targets: Targets }
  | { kind: 'readText' }
  | { kind: 'count'; targets: Targets }
  | { kind: 'exists'; targets: Targets }
  | { kind: 'where'; targets: Targets }
  | { kind: 'colour'; targets: Targets }
  | { kind: 'classify'; options: Array<{ phrase: string; classes: string[] }> }
  | { kind: 'people' }
  | { kind: 'compare' }
  | { kind: 'unknown' };

export interface Plan {
  lang: Lang;
  task: Task;
  /** The user asked for JSON in words ("Output a JSON list…") or through responseMimeType. */
  json: boolean;
}


const INTENTS: Array<[Task['kind'], RegExp]> = [
  ['segment', /segment|\bmasks?\b|分割|遮罩|區隔|区隔|輪廓|轮廓/i],
  ['detect', /detect|bounding box|box_2d|bbox|locate (all|every)|find all|偵測|侦测|检测|檢測|定界框|边界框|邊界框|框出|標出|标出/i],
  ['readText', /\b(read|ocr|transcribe)\b|what does (it|the \w+) say|\btext\b|written|文字|讀出|读出|寫著|写着|寫了|写了|上面寫|上面写|識別文字|识别文字/i],
  ['count', /how many|\bcount\b|number of|幾個|几个|幾隻|几只|幾輛|几辆|幾位|几位|多少/i],
  ['compare', /differen|compare|comparison|\bsame\b|\bchanged?\b|不同|差異|差异|比較|比较|一樣|一样|區別|区别|變化|变化/i],
  ['classify', /\bor\b.*\?|還是|还是/i],
  ['exists', /^\s*(is|are) there\b|\bis there\b|\bare there\b|does (it|the image|this image|this) (contain|have|show)|\bany\b.*\?|有沒有|有没有|是否有|有.*嗎|有.*吗/i],
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
  const kind = intentOf(text, opts.imageCount);
  const targets = () => targetsOf(text, opts.vocabulary);
  let task: Task;
  switch (kind) {
    case 'caption':
      task = { kind, detail: DETAILED.test(text) ? 'detailed' : 'short' };
      break;
    case 'detect':
    case 'segment':
    case 'count':
    case 'exists':
    case 'where':
    case 'colour':
      task = { kind, targets: targets() };
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

function intentOf(text: string, imageCount: number): Task['kind'] {
  if (text === '') return imageCount > 1 ? 'compare' : 'caption';
  for (const [kind, pattern] of INTENTS) {
    if (kind === 'compare' && imageCount < 2) continue;
    if (pattern.test(text)) return kind;
  }
  // Several images and no clear question: what tells them apart is the useful answer.
  if (imageCount > 1) return 'compare';
  // A question we cannot place: answered honestly with what the models saw.
  return /\?|？|嗎|吗|什麼|什么|怎麼|怎么|為什麼|为什么/.test(text) ? 'unknown' : 'caption';
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
  const { classes, unknown } = phrase ? vocabulary(phrase) : { classes: [], unknown: [] };
  // "all items" means every object only when nothing more specific was named: "the wooden
  // and glass items" names things the models do not know, and must not become "everything".
  const all = classes.length === 0 && unknown.length === 0;
  return { all, classes, unknown };
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
