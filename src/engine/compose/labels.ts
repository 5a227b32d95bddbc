/**
 * How to say each COCO class in each answer language: English singular and plural,
 * Traditional and Simplified Chinese, and the measure word Chinese counts it with.
 */
import type { Lang } from '../language.js';

interface Names {
  plural?: string;
  hant: string;
  hans: string;
  /** Chinese classifier: 隻/只 for animals, 輛/辆 for vehicles, 個/个 otherwise… */
  mw?: [string, string];
}

const ANIMAL: [string, string] = ['隻', '只'];
const VEHICLE: [string, string] = ['輛', '辆'];
const FLAT: [string, string] = ['張', '张'];

const TABLE: Record<string, Names> = {
  person: { plural: 'people', hant: '人', hans: '人', mw: ['個', '个'] },
  bicycle: { hant: '腳踏車', hans: '自行车', mw: VEHICLE },
  car: { hant: '汽車', hans: '汽车', mw: VEHICLE },
  motorcycle: { hant: '機車', hans: '摩托车', mw: VEHICLE },
  airplane: { hant: '飛機', hans: '飞机', mw: ['架', '架'] },
  bus: { plural: 'buses', hant: '公車', hans: '公交车', mw: VEHICLE },
  train: { hant: '火車', hans: '火车', mw: ['列', '列'] },
  truck: { hant: '卡車', hans: '卡车', mw: VEHICLE },
  boat: { hant: '船', hans: '船', mw: ['艘', '艘'] },
  'traffic light': { hant: '紅綠燈', hans: '红绿灯' },
  'fire hydrant': { hant: '消防栓', hans: '消防栓' },
  'stop sign': { hant: '停車標誌', hans: '停车标志' },
  'parking meter': { hant: '停車計費器', hans: '停车计费器' },
  bench: { plural: 'benches', hant: '長椅', hans: '长椅', mw: FLAT },
  bird: { hant: '鳥', hans: '鸟', mw: ANIMAL },
  cat: { hant: '貓', hans: '猫', mw: ANIMAL },
  dog: { hant: '狗', hans: '狗', mw: ANIMAL },
  horse: { hant: '馬', hans: '马', mw: ['匹', '匹'] },
  sheep: { plural: 'sheep', hant: '羊', hans: '羊', mw: ANIMAL },
  cow: { hant: '牛', hans: '牛', mw: ['頭', '头'] },
  elephant: { hant: '大象', hans: '大象', mw: ['頭', '头'] },
  bear: { hant: '熊', hans: '熊', mw: ANIMAL },
  zebra: { hant: '斑馬', hans: '斑马', mw: ['匹', '匹'] },
  giraffe: { hant: '長頸鹿', hans: '长颈鹿', mw: ANIMAL },
  backpack: { hant: '背包', hans: '背包' },
  umbrella: { hant: '雨傘', hans: '雨伞', mw: ['把', '把'] },
  handbag: { hant: '手提包', hans: '手提包' },
  tie: { hant: '領帶', hans: '领带', mw: ['條', '条'] },
  suitcase: { hant: '行李箱', hans: '行李箱' },
  frisbee: { hant: '飛盤', hans: '飞盘' },
  skis: { plural: 'skis', hant: '滑雪板', hans: '滑雪板', mw: ['副', '副'] },
  snowboard: { hant: '單板滑雪板', hans: '单板滑雪板' },
  'sports ball': { hant: '球', hans: '球', mw: ['顆', '颗'] },
  kite: { hant: '風箏', hans: '风筝', mw: ['只', '只'] },
  'baseball bat': { hant: '球棒', hans: '球棒', mw: ['支', '支'] },
  'baseball glove': { hant: '棒球手套', hans: '棒球手套', mw: ['只', '只'] },
  skateboard: { hant: '滑板', hans: '滑板', mw: ['塊', '块'] },
  surfboard: { hant: '衝浪板', hans: '冲浪板', mw: ['塊', '块'] },
  'tennis racket': { hant: '網球拍', hans: '网球拍', mw: ['支', '支'] },
  bottle: { hant: '瓶子', hans: '瓶子' },
  'wine glass': { plural: 'wine glasses', hant: '酒杯', hans: '酒杯' },
  cup: { hant: '杯子', hans: '杯子' },
  fork: { hant: '叉子', hans: '叉子', mw: ['支', '支'] },
  knife: { plural: 'knives', hant: '刀子', hans: '刀子', mw: ['把', '把'] },
  spoon: { hant: '湯匙', hans: '勺子', mw: ['支', '支'] },
  bowl: { hant: '碗', hans: '碗' },
  banana: { hant: '香蕉', hans: '香蕉', mw: ['根', '根'] },
  apple: { hant: '蘋果', hans: '苹果', mw: ['顆', '颗'] },
  sandwich: { plural: 'sandwiches', hant: '三明治', hans: '三明治', mw: ['份', '份'] },
  orange: { hant: '柳橙', hans: '橙子', mw: ['顆', '颗'] },
  broccoli: { plural: 'broccoli', hant: '花椰菜', hans: '西兰花', mw: ['棵', '棵'] },
  carrot: { hant: '紅蘿蔔', hans: '胡萝卜', mw: ['根', '根'] },
  'hot dog': { hant: '熱狗', hans: '热狗', mw: ['份', '份'] },
  pizza: { hant: '披薩', hans: '披萨', mw: ['份', '份'] },
  donut: { hant: '甜甜圈', hans: '甜甜圈' },
  cake: { hant: '蛋糕', hans: '蛋糕', mw: ['塊', '块'] },
  chair: { hant: '椅子', hans: '椅子', mw: ['把', '把'] },
  couch: { hant: '沙發', hans: '沙发', mw: FLAT },
  'potted plant': { hant: '盆栽', hans: '盆栽', mw: ['盆', '盆'] },
  bed: { hant: '床', hans: '床', mw: FLAT },
  'dining table': { hant: '餐桌', hans: '餐桌', mw: FLAT },
  toilet: { hant: '馬桶', hans: '马桶' },
  tv: { plural: 'TVs', hant: '電視', hans: '电视', mw: ['台', '台'] },
  laptop: { hant: '筆記型電腦', hans: '笔记本电脑', mw: ['台', '台'] },
  mouse: { plural: 'mice', hant: '滑鼠', hans: '鼠标' },
  remote: { hant: '遙控器', hans: '遥控器' },
  keyboard: { hant: '鍵盤', hans: '键盘' },
  'cell phone': { hant: '手機', hans: '手机', mw: ['支', '部'] },
  microwave: { hant: '微波爐', hans: '微波炉', mw: ['台', '台'] },
  oven: { hant: '烤箱', hans: '烤箱', mw: ['台', '台'] },
  toaster: { hant: '烤麵包機', hans: '烤面包机', mw: ['台', '台'] },
  sink: { hant: '水槽', hans: '水槽' },
  refrigerator: { hant: '冰箱', hans: '冰箱', mw: ['台', '台'] },
  book: { hant: '書', hans: '书', mw: ['本', '本'] },
  clock: { hant: '時鐘', hans: '时钟' },
  vase: { hant: '花瓶', hans: '花瓶' },
  scissors: { plural: 'scissors', hant: '剪刀', hans: '剪刀', mw: ['把', '把'] },
  'teddy bear': { hant: '泰迪熊', hans: '泰迪熊', mw: ['隻', '只'] },
  'hair drier': { hant: '吹風機', hans: '吹风机', mw: ['台', '台'] },
  toothbrush: { plural: 'toothbrushes', hant: '牙刷', hans: '牙刷', mw: ['支', '支'] },
};

/** Darknet's coco.names spells a few classes differently from the COCO API. */
const ALIASES: Record<string, string> = {
  motorbike: 'motorcycle',
  aeroplane: 'airplane',
  sofa: 'couch',
  pottedplant: 'potted plant',
  diningtable: 'dining table',
  tvmonitor: 'tv',
};

export const canonicalLabel = (label: string): string => ALIASES[label] ?? label;

/** The class in the answer's language, singular or for a count. */
export function labelName(label: string, lang: Lang, count = 1): string {
  const key = canonicalLabel(label);
  const n = TABLE[key];
  if (lang === 'en') return count === 1 ? key : (n?.plural ?? `${key}s`);
  return (lang === 'zh-Hant' ? n?.hant : n?.hans) ?? key;
}

/** "3 dogs", "a dog", "3 隻狗", "一隻狗". */
export function countedName(label: string, count: number, lang: Lang): string {
  const key = canonicalLabel(label);
  if (lang === 'en') {
    if (count === 1) return `${/^[aeiou]/i.test(key) ? 'an' : 'a'} ${key}`;
    return `${numberWord(count)} ${labelName(key, lang, count)}`;
  }
  const mw = TABLE[key]?.mw ?? ['個', '个'];
  const measure = lang === 'zh-Hant' ? mw[0] : mw[1];
  const num = count === 1 ? '一' : count === 2 ? (lang === 'zh-Hant' ? '兩' : '两') : String(count);
  return `${num}${measure}${labelName(key, lang)}`;
}

const WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
export const numberWord = (n: number): string => WORDS[n] ?? String(n);

export const knownLabels = (): string[] => Object.keys(TABLE);
