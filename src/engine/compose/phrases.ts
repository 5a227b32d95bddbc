/**
 * Sentence pieces in the three answer languages. Composition code picks facts; this file
 * only says them, so a wording change never touches the logic.
 */
import type { Lang } from '../language.js';
import type { NormBox } from '../../vision/analysis.js';

type Tri = { en: string; 'zh-Hant': string; 'zh-Hans': string };
const t = (en: string, hant: string, hans: string): Tri => ({ en, 'zh-Hant': hant, 'zh-Hans': hans });

/** Where a box's centre lies, in thirds of the image. */
export function placeOf(box: NormBox, lang: Lang): string {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const col = cx < 1 / 3 ? 0 : cx > 2 / 3 ? 2 : 1;
  const row = cy < 1 / 3 ? 0 : cy > 2 / 3 ? 2 : 1;
  const places: Tri[][] = [
    [t('upper left', '左上方', '左上方'), t('top centre', '上方中央', '上方中央'), t('upper right', '右上方', '右上方')],
    [t('left', '左側', '左侧'), t('centre', '中間', '中间'), t('right', '右側', '右侧')],
    [t('lower left', '左下方', '左下方'), t('bottom centre', '下方中央', '下方中央'), t('lower right', '右下方', '右下方')],
  ];
  return places[row]![col]![lang];
}

export function join(items: string[], lang: Lang): string {
  if (items.length <= 1) return items[0] ?? '';
  if (lang !== 'en') return `${items.slice(0, -1).join('、')}和${items.at(-1)}`;
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** "in the centre", "at the left": where a thing is, after its name. */
export function atPlace(place: string, lang: Lang): string {
  if (lang !== 'en') return `在${place}`;
  return place === 'centre' ? 'in the centre' : `at the ${place}`;
}

export const say = {
  orPossibly: (thing: string, other: string, lang: Lang) => t(`${thing} (or possibly ${other})`, `${thing}（也可能是${other}）`, `${thing}（也可能是${other}）`)[lang],
  thingAt: (thing: string, place: string, lang: Lang) => (lang === 'en' ? `${thing} ${atPlace(place, lang)}` : `${thing}${atPlace(place, lang)}`),
  unsureOnly: (things: string, lang: Lang) =>
    t(
      `I am not sure what this shows: possibly ${things}.`,
      `我不確定畫面中是什麼：可能是${things}。`,
      `我不确定画面中是什么：可能是${things}。`,
    )[lang],
  alsoSee: (things: string, lang: Lang) => t(`I also see ${things}.`, `另外還看到${things}。`, `另外还看到${things}。`)[lang],
  imageLabel: (n: number, lang: Lang) => t(`Image ${n}: `, `第 ${n} 張：`, `第 ${n} 张：`)[lang],
  textPage: (heading: string, lines: number, lang: Lang) =>
    t(
      `A page of text headed "${heading}" (${lines} lines).`,
      `一頁文字，標題是「${heading}」（共 ${lines} 行）。`,
      `一页文字，标题是“${heading}”（共 ${lines} 行）。`,
    )[lang],
  photoOf: (things: string, lang: Lang) => t(`A photo of ${things}.`, `一張有${things}的照片。`, `一张有${things}的照片。`)[lang],
  isAt: (thing: string, place: string, lang: Lang) =>
    t(`The ${thing} is at the ${place}`, `${thing}在畫面${place}`, `${thing}在画面${place}`)[lang],
  nothingKnown: (lang: Lang) =>
    t(
      'I cannot recognise any of the 80 everyday object kinds the offline models know (people, animals, vehicles, household items…) in this image.',
      '在這張圖片中，我認不出離線模型所知的 80 種常見物體（人、動物、車輛、家居用品……）中的任何一種。',
      '在这张图片中，我认不出离线模型所知的 80 种常见物体（人、动物、车辆、家居用品……）中的任何一种。',
    )[lang],
  colours: (colours: string, light: string, lang: Lang) =>
    t(`The image is ${light}, mostly ${colours}.`, `畫面${light}，主要是${colours}。`, `画面${light}，主要是${colours}。`)[lang],
  light: (brightness: number, lang: Lang) =>
    brightness < 0.25
      ? t('dark', '偏暗', '偏暗')[lang]
      : brightness > 0.7
        ? t('bright', '明亮', '明亮')[lang]
        : t('evenly lit', '亮度適中', '亮度适中')[lang],
  textReads: (text: string, lang: Lang) => t(`The text reads: "${text}".`, `上面的文字是：「${text}」。`, `上面的文字是：“${text}”。`)[lang],
  noText: (lang: Lang) => t('I cannot find any readable text in the image.', '我在圖片中找不到可辨識的文字。', '我在图片中找不到可辨识的文字。')[lang],
  countIs: (counted: string, lang: Lang) => t(`There ${/^(an? |one )/.test(counted) ? 'is' : 'are'} ${counted} in the image.`, `圖片中有${counted}。`, `图片中有${counted}。`)[lang],
  noneOf: (thing: string, lang: Lang) => t(`I see no ${thing} in the image.`, `我在圖片中沒有看到${thing}。`, `我在图片中没有看到${thing}。`)[lang],
  yesThereIs: (counted: string, lang: Lang) => t(`Yes, there ${/^(an? |one )/.test(counted) ? 'is' : 'are'} ${counted}.`, `有，圖片中有${counted}。`, `有，图片中有${counted}。`)[lang],
  noThereIsNot: (thing: string, lang: Lang) => t(`No, I don't see any ${thing}.`, `沒有，我沒有看到${thing}。`, `没有，我没有看到${thing}。`)[lang],
  unknownThings: (things: string, lang: Lang) =>
    t(
      `The offline models cannot recognise ${things}: they know 80 everyday object kinds (people, animals, vehicles, household items…), plus text and colours. A vision-language model could answer this; none is installed in this server.`,
      `離線模型無法辨識${things}：它們只認得 80 種常見物體（人、動物、車輛、家居用品……）以及文字和顏色。視覺語言模型可以回答這個問題，但這台伺服器沒有安裝。`,
      `离线模型无法识别${things}：它们只认得 80 种常见物体（人、动物、车辆、家居用品……）以及文字和颜色。视觉语言模型可以回答这个问题，但这台服务器没有安装。`,
    )[lang],
  cannotAnswer: (lang: Lang) =>
    t(
      'I cannot answer that question from what the offline models see. Here is what I can see:',
      '我無法從離線模型看到的內容回答這個問題。以下是我能看到的：',
      '我无法从离线模型看到的内容回答这个问题。以下是我能看到的：',
    )[lang],
  itIs: (thing: string, lang: Lang) => t(`It is ${thing}.`, `這是${thing}。`, `这是${thing}。`)[lang],
  neither: (options: string, lang: Lang) => t(`I can't tell: I see neither ${options}.`, `我無法判斷：${options}都沒有看到。`, `我无法判断：${options}都没有看到。`)[lang],
  colourOf: (thing: string, colours: string, lang: Lang) => t(`The ${thing} is mostly ${colours}.`, `${thing}主要是${colours}。`, `${thing}主要是${colours}。`)[lang],
  sameFile: (a: number, b: number, lang: Lang) => t(`Images ${a} and ${b} are the same file.`, `第 ${a} 張和第 ${b} 張是同一個檔案。`, `第 ${a} 张和第 ${b} 张是同一个文件。`)[lang],
  samePixels: (a: number, b: number, lang: Lang) =>
    t(`Images ${a} and ${b} look the same.`, `第 ${a} 張和第 ${b} 張看起來一樣。`, `第 ${a} 张和第 ${b} 张看起来一样。`)[lang],
  differIn: (a: number, b: number, pct: string, lang: Lang) =>
    t(`Images ${a} and ${b} differ in about ${pct} of their area`, `第 ${a} 張和第 ${b} 張約有 ${pct} 的面積不同`, `第 ${a} 张和第 ${b} 张约有 ${pct} 的面积不同`)[lang],
  mostlyAt: (places: string, lang: Lang) => t(`, mostly at the ${places}.`, `，主要在${places}。`, `，主要在${places}。`)[lang],
  imageHas: (n: number, things: string, lang: Lang) => t(`Image ${n} shows ${things}.`, `第 ${n} 張有${things}。`, `第 ${n} 张有${things}。`)[lang],
  imageHasNothing: (n: number, lang: Lang) =>
    t(`In image ${n} I recognise no everyday objects.`, `第 ${n} 張中我認不出常見物體。`, `第 ${n} 张中我认不出常见物体。`)[lang],
  onlyIn: (things: string, n: number, lang: Lang) => t(`Only image ${n} has ${things}.`, `只有第 ${n} 張有${things}。`, `只有第 ${n} 张有${things}。`)[lang],
  sizes: (a: string, b: string, lang: Lang) => t(`They are ${a} and ${b} pixels.`, `尺寸分別是 ${a} 和 ${b} 像素。`, `尺寸分别是 ${a} 和 ${b} 像素。`)[lang],
  dims: (w: number, h: number, format: string, lang: Lang) =>
    t(`It is a ${w}×${h} ${format} image.`, `這是一張 ${w}×${h} 的 ${format} 圖片。`, `这是一张 ${w}×${h} 的 ${format} 图片。`)[lang],
  needTwoImages: (lang: Lang) => t('Comparing needs at least two images.', '比較需要至少兩張圖片。', '比较需要至少两张图片。')[lang],
  tooSmall: (w: number, h: number, lang: Lang) =>
    t(
      `The image is too small (${w}×${h} pixels) to recognise objects in.`,
      `這張圖片太小（${w}×${h} 像素），無法辨識其中的物體。`,
      `这张图片太小（${w}×${h} 像素），无法识别其中的物体。`,
    )[lang],
  manyImages: (n: number, distinct: number, sizes: string, lang: Lang) =>
    t(
      `The request has ${n} images (${distinct} distinct), ${sizes}.`,
      `這個請求有 ${n} 張圖片（${distinct} 張不同），${sizes}。`,
      `这个请求有 ${n} 张图片（${distinct} 张不同），${sizes}。`,
    )[lang],
  sizesRange: (a: string, b: string, lang: Lang) =>
    a === b ? t(`all ${a} pixels`, `都是 ${a} 像素`, `都是 ${a} 像素`)[lang] : t(`from ${a} to ${b} pixels`, `從 ${a} 到 ${b} 像素`, `从 ${a} 到 ${b} 像素`)[lang],
  tinySkipped: (n: number, lang: Lang) =>
    t(
      `${n} of them are too small (under 16 pixels on a side) to recognise objects in.`,
      `其中 ${n} 張太小（邊長不到 16 像素），無法辨識物體。`,
      `其中 ${n} 张太小（边长不到 16 像素），无法识别物体。`,
    )[lang],
  limitSkipped: (looked: number, n: number, lang: Lang) =>
    t(
      `The models looked at ${looked} images (at most 32 a request); ${n} more were only measured.`,
      `模型看了 ${looked} 張圖片（每個請求最多 32 張），另外 ${n} 張只做了測量。`,
      `模型看了 ${looked} 张图片（每个请求最多 32 张），另外 ${n} 张只做了测量。`,
    )[lang],
  across: (things: string, lang: Lang) => t(`Across them I recognise ${things}.`, `其中可辨識出${things}。`, `其中可识别出${things}。`)[lang],
  noPeople: (lang: Lang) => t('I see no people in the image.', '我在圖片中沒有看到人。', '我在图片中没有看到人。')[lang],
  peopleCount: (counted: string, lang: Lang) => t(`I see ${counted}.`, `我看到${counted}。`, `我看到${counted}。`)[lang],
  posture: (posture: string, place: string, lang: Lang) =>
    t(
      `One is ${posture} at the ${place}.`,
      `有一人${({ standing: '站著', sitting: '坐著', lying: '躺著' } as Record<string, string>)[posture] ?? posture}，在畫面${place}。`,
      `有一人${({ standing: '站着', sitting: '坐着', lying: '躺着' } as Record<string, string>)[posture] ?? posture}，在画面${place}。`,
    )[lang],
  noFaces: (lang: Lang) =>
    t(
      'No face is visible (turned away, covered or too small), so I cannot say how they look or feel.',
      '看不到臉（背對、遮住或太小），所以無法判斷表情。',
      '看不到脸（背对、遮住或太小），所以无法判断表情。',
    )[lang],
  faceExpression: (n: number, expression: string, lang: Lang) =>
    t(
      `Face ${n} looks ${expression}.`,
      `第 ${n} 張臉看起來${({ happy: '開心', sad: '難過', angry: '生氣', surprise: '驚訝', fear: '害怕', disgust: '厭惡', neutral: '平靜' } as Record<string, string>)[expression] ?? expression}。`,
      `第 ${n} 张脸看起来${({ happy: '开心', sad: '难过', angry: '生气', surprise: '惊讶', fear: '害怕', disgust: '厌恶', neutral: '平静' } as Record<string, string>)[expression] ?? expression}。`,
    )[lang],
  noPeopleModel: (lang: Lang) =>
    t(
      'Faces, expressions and poses need the people model, which is not loaded (start without --no-people).',
      '臉、表情和姿勢需要人物模型，但它沒有載入（啟動時不要加 --no-people）。',
      '脸、表情和姿势需要人物模型，但它没有加载（启动时不要加 --no-people）。',
    )[lang],
  camera: (what: string, when: string | undefined, lang: Lang) =>
    t(
      `It was taken with a ${what}${when ? ` on ${when}` : ''}.`,
      `這張照片用 ${what} 拍攝${when ? `，時間是 ${when}` : ''}。`,
      `这张照片用 ${what} 拍摄${when ? `，时间是 ${when}` : ''}。`,
    )[lang],
  takenOn: (when: string, lang: Lang) => t(`It was taken on ${when}.`, `拍攝時間是 ${when}。`, `拍摄时间是 ${when}。`)[lang],
  place: (lat: number, lon: number, lang: Lang) =>
    t(`Its GPS position is ${lat.toFixed(5)}, ${lon.toFixed(5)}.`, `GPS 位置是 ${lat.toFixed(5)}, ${lon.toFixed(5)}。`, `GPS 位置是 ${lat.toFixed(5)}, ${lon.toFixed(5)}。`)[lang],
  noImage: (lang: Lang) =>
    t('There is no image in this request; Ocellus answers questions about images.', '這個請求中沒有圖片；Ocellus 回答關於圖片的問題。', '这个请求中没有图片；Ocellus 回答关于图片的问题。')[lang],
};

const COLOUR_ZH: Record<string, [string, string]> = {
  black: ['黑色', '黑色'],
  'dark grey': ['深灰色', '深灰色'],
  grey: ['灰色', '灰色'],
  'light grey': ['淺灰色', '浅灰色'],
  white: ['白色', '白色'],
  red: ['紅色', '红色'],
  'dark red': ['深紅色', '深红色'],
  pink: ['粉紅色', '粉红色'],
  orange: ['橙色', '橙色'],
  brown: ['棕色', '棕色'],
  beige: ['米色', '米色'],
  yellow: ['黃色', '黄色'],
  olive: ['橄欖綠', '橄榄绿'],
  green: ['綠色', '绿色'],
  'dark green': ['深綠色', '深绿色'],
  teal: ['青色', '青色'],
  'light blue': ['淺藍色', '浅蓝色'],
  blue: ['藍色', '蓝色'],
  navy: ['深藍色', '深蓝色'],
  purple: ['紫色', '紫色'],
};

export function colourName(name: string, lang: Lang): string {
  if (lang === 'en') return name;
  const zh = COLOUR_ZH[name];
  return zh ? (lang === 'zh-Hant' ? zh[0] : zh[1]) : name;
}
