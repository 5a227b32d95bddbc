/**
 * The language to answer in, from the prompt: English, or Chinese in the script the user
 * wrote (Traditional or Simplified), decided by characters that differ between the two.
 */
import type { Lang } from '../seam/plan.js';

export type { Lang } from '../seam/plan.js';

const HAN = /\p{Script=Han}/u;
// Common characters whose form differs between the scripts, as [traditional, simplified].
const PAIRS = [
  '這这', '麼么', '圖图', '們们', '個个', '裡里', '說说', '與与', '種种', '顏颜', '色色', '幾几', '張张', '隻只', '車车',
  '馬马', '貓猫', '鳥鸟', '書书', '樣样', '區区', '劃划', '識识', '讀读', '寫写', '邊边', '頭头', '體体', '後后', '麗丽',
  '偵侦', '測测', '標标', '為为', '沒没', '嗎吗', '還还', '麼么', '檢检', '處处', '異异', '較较', '變变', '無无', '狀状',
];
const TRAD = new Set(PAIRS.map((p) => p[0]).filter((c, i) => c !== PAIRS[i]![1]));
const SIMP = new Set(PAIRS.map((p) => p[1]).filter((c, i) => c !== PAIRS[i]![0]));

export function detectLanguage(text: string): Lang {
  if (!HAN.test(text)) return 'en';
  let trad = 0;
  let simp = 0;
  for (const ch of text) {
    if (TRAD.has(ch)) trad++;
    if (SIMP.has(ch)) simp++;
  }
  return simp > trad ? 'zh-Hans' : 'zh-Hant';
}
