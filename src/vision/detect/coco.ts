/**
 * COCO's 80 object classes, and the words people use for them.
 *
 * `cocoClassesInPrompt(text)` finds the classes a prompt names, in English or Chinese
 * (Traditional and Simplified), with plurals, synonyms and category words ("animals",
 * "vehicles", 水果). Nouns it does not know are returned as `unknown`, never forced onto the
 * nearest class: "unicorn" is unknown, not a horse; 機器人 (robot) is unknown, not a person;
 * 馬路 (road) is unknown, not a horse. Pure: no I/O, no models.
 */

/** The 80 COCO detection classes in the order detectors index them (0-based). */
export const COCO_CLASSES = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
  'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
] as const;

export type CocoClass = (typeof COCO_CLASSES)[number];

const CLASS_SET: ReadonlySet<string> = new Set(COCO_CLASSES);

export function isCocoClass(name: string): name is CocoClass {
  return CLASS_SET.has(name);
}

/**
 * The original COCO category ids (1..90, with gaps) that TF Object Detection API models
 * such as SSD-MobileNet emit, mapped to the 80 names. Index = id - 1; null for the ten ids
 * COCO never used (12, 26, 29, 30, 45, 66, 68, 69, 71, 83).
 */
export const COCO91_LABELS: ReadonlyArray<CocoClass | null> = (() => {
  const unused = new Set([12, 26, 29, 30, 45, 66, 68, 69, 71, 83]);
  const out: Array<CocoClass | null> = [];
  let next = 0;
  for (let id = 1; id <= 90; id++) out.push(unused.has(id) ? null : (COCO_CLASSES[next++] ?? null));
  return out;
})();

// ---- vocabulary -------------------------------------------------------------------------

const ANIMALS: CocoClass[] = ['bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe'];
const VEHICLES: CocoClass[] = ['bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat'];
const FRUIT: CocoClass[] = ['banana', 'apple', 'orange'];
const FOOD: CocoClass[] = ['banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake'];
const VEGETABLES: CocoClass[] = ['broccoli', 'carrot'];
const FURNITURE: CocoClass[] = ['chair', 'couch', 'bed', 'dining table', 'bench'];
const CUTLERY: CocoClass[] = ['fork', 'knife', 'spoon'];
const APPLIANCES: CocoClass[] = ['microwave', 'oven', 'toaster', 'sink', 'refrigerator'];
const ELECTRONICS: CocoClass[] = ['tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone'];
const BAGS: CocoClass[] = ['handbag', 'backpack', 'suitcase'];
const KITCHENWARE: CocoClass[] = ['bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl'];
const SPORTS: CocoClass[] = [
  'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
];
const ACCESSORIES: CocoClass[] = ['backpack', 'umbrella', 'handbag', 'tie', 'suitcase'];

/**
 * The broad kind each class belongs to, by the category words above: a yes/no answer that
 * denies a cat names the dog it saw instead, because that is the confusion worth showing.
 */
const KINDS: Array<[string, readonly CocoClass[]]> = [
  ['person', ['person']], ['animal', ANIMALS], ['vehicle', VEHICLES], ['food', FOOD], ['furniture', FURNITURE],
  ['electronics', ELECTRONICS], ['appliance', APPLIANCES], ['kitchenware', KITCHENWARE], ['sports equipment', SPORTS],
  ['accessory', ACCESSORIES],
];

export function supercategoryOf(label: string): string | undefined {
  return KINDS.find(([, classes]) => (classes as readonly string[]).includes(label))?.[0];
}

/**
 * English terms (singular; plurals are generated) → classes. Multi-word terms match as a
 * whole before their parts ("hot dog" is not a dog, "teddy bear" is not a bear).
 */
const EN: Record<string, CocoClass | CocoClass[]> = {
  // person
  person: 'person', human: 'person', man: 'person', woman: 'person', boy: 'person', girl: 'person',
  child: 'person', kid: 'person', baby: 'person', toddler: 'person', adult: 'person', teenager: 'person',
  teen: 'person', guy: 'person', lady: 'person', gentleman: 'person', pedestrian: 'person', passerby: 'person',
  player: 'person', athlete: 'person', tourist: 'person', skier: 'person', surfer: 'person', skateboarder: 'person',
  cyclist: 'person', biker: 'person', rider: 'person', driver: 'person', passenger: 'person', worker: 'person',
  someone: 'person', somebody: 'person', anyone: 'person', anybody: 'person', everyone: 'person', everybody: 'person',
  individual: 'person', crowd: 'person', mother: 'person',
  father: 'person', mom: 'person', dad: 'person', son: 'person', daughter: 'person', friend: 'person',
  'human being': 'person', 'kite surfer': 'person', kitesurfer: 'person',
  // vehicles
  bicycle: 'bicycle', bike: 'bicycle', 'push bike': 'bicycle', 'road bike': 'bicycle',
  'mountain bike': 'bicycle',
  car: 'car', automobile: 'car', sedan: 'car', suv: 'car', taxi: 'car', cab: 'car', jeep: 'car',
  hatchback: 'car', coupe: 'car', 'sports car': 'car', 'race car': 'car', van: ['car', 'truck'], minivan: 'car',
  motorcycle: 'motorcycle', motorbike: 'motorcycle', 'motor bike': 'motorcycle', 'motor cycle': 'motorcycle',
  scooter: 'motorcycle', moped: 'motorcycle', 'dirt bike': 'motorcycle',
  airplane: 'airplane', aeroplane: 'airplane', plane: 'airplane', aircraft: 'airplane', jet: 'airplane',
  airliner: 'airplane', jetliner: 'airplane', 'jumbo jet': 'airplane',
  bus: 'bus', 'school bus': 'bus', 'double decker': 'bus', minibus: 'bus', autobus: 'bus',
  train: 'train', locomotive: 'train', tram: 'train', streetcar: 'train', subway: 'train', 'subway train': 'train',
  railcar: 'train', 'freight train': 'train',
  truck: 'truck', lorry: 'truck', pickup: 'truck', 'pickup truck': 'truck', 'fire truck': 'truck',
  'fire engine': 'truck', 'dump truck': 'truck', 'semi truck': 'truck', 'delivery truck': 'truck',
  boat: 'boat', ship: 'boat', sailboat: 'boat', yacht: 'boat', canoe: 'boat', kayak: 'boat', ferry: 'boat',
  'row boat': 'boat', rowboat: 'boat', dinghy: 'boat', vessel: 'boat', 'motor boat': 'boat', motorboat: 'boat',
  vehicle: VEHICLES, 'motor vehicle': ['car', 'motorcycle', 'bus', 'truck'],
  // street
  'traffic light': 'traffic light', 'traffic signal': 'traffic light', stoplight: 'traffic light',
  'stop light': 'traffic light',
  'fire hydrant': 'fire hydrant', hydrant: 'fire hydrant', 'stop sign': 'stop sign', 'parking meter': 'parking meter',
  bench: 'bench', 'park bench': 'bench',
  // animals
  bird: 'bird', eagle: 'bird', hawk: 'bird', parrot: 'bird', pigeon: 'bird', dove: 'bird', duck: 'bird',
  seagull: 'bird', gull: 'bird', owl: 'bird', chicken: 'bird', hen: 'bird', rooster: 'bird', swan: 'bird',
  goose: 'bird', crow: 'bird', sparrow: 'bird', penguin: 'bird', pelican: 'bird', heron: 'bird', flamingo: 'bird',
  cat: 'cat', kitten: 'cat', kitty: 'cat', tomcat: 'cat',
  dog: 'dog', puppy: 'dog', pup: 'dog', doggy: 'dog', doggie: 'dog', hound: 'dog', pooch: 'dog', canine: 'dog',
  horse: 'horse', pony: 'horse', foal: 'horse', stallion: 'horse', mare: 'horse', colt: 'horse',
  sheep: 'sheep', lamb: 'sheep', ewe: 'sheep',
  cow: 'cow', cattle: 'cow', bull: 'cow', calf: 'cow', ox: 'cow', heifer: 'cow',
  elephant: 'elephant', bear: 'bear', 'polar bear': 'bear', 'grizzly bear': 'bear', grizzly: 'bear', panda: 'bear',
  zebra: 'zebra', giraffe: 'giraffe',
  animal: ANIMALS, pet: ['cat', 'dog'], livestock: ['horse', 'sheep', 'cow'],
  // accessories
  backpack: 'backpack', rucksack: 'backpack', knapsack: 'backpack', 'school bag': 'backpack', schoolbag: 'backpack',
  umbrella: 'umbrella', parasol: 'umbrella',
  handbag: 'handbag', purse: 'handbag', 'hand bag': 'handbag', tote: 'handbag', 'shoulder bag': 'handbag', bag: BAGS,
  tie: 'tie', necktie: 'tie', 'bow tie': 'tie',
  suitcase: 'suitcase', luggage: 'suitcase', baggage: 'suitcase', 'travel bag': 'suitcase',
  accessory: ACCESSORIES,
  // sports
  frisbee: 'frisbee', 'flying disc': 'frisbee', ski: 'skis', skis: 'skis', snowboard: 'snowboard',
  'sports ball': 'sports ball', ball: 'sports ball', football: 'sports ball', 'soccer ball': 'sports ball',
  basketball: 'sports ball', volleyball: 'sports ball', 'tennis ball': 'sports ball', baseball: 'sports ball',
  'golf ball': 'sports ball', 'rugby ball': 'sports ball', 'beach ball': 'sports ball',
  kite: 'kite', 'baseball bat': 'baseball bat', 'cricket bat': 'baseball bat',
  'baseball glove': 'baseball glove', 'baseball mitt': 'baseball glove', mitt: 'baseball glove',
  skateboard: 'skateboard', surfboard: 'surfboard', 'surf board': 'surfboard',
  'tennis racket': 'tennis racket', racket: 'tennis racket', racquet: 'tennis racket', 'tennis racquet': 'tennis racket',
  'sports equipment': SPORTS, 'sport equipment': SPORTS, 'sporting goods': SPORTS, 'sports gear': SPORTS,
  'sports item': SPORTS, 'sporting equipment': SPORTS,
  // kitchen
  bottle: 'bottle', 'water bottle': 'bottle', 'wine bottle': 'bottle', 'beer bottle': 'bottle',
  'wine glass': 'wine glass', wineglass: 'wine glass', goblet: 'wine glass', 'champagne glass': 'wine glass',
  cup: 'cup', mug: 'cup', teacup: 'cup', 'coffee cup': 'cup', 'coffee mug': 'cup', 'drinking glass': 'cup', tumbler: 'cup',
  fork: 'fork', knife: 'knife', spoon: 'spoon', teaspoon: 'spoon', tablespoon: 'spoon', ladle: 'spoon',
  cutlery: CUTLERY, silverware: CUTLERY, utensil: CUTLERY, flatware: CUTLERY,
  bowl: 'bowl',
  kitchenware: KITCHENWARE, 'kitchen utensil': KITCHENWARE, 'kitchen item': KITCHENWARE, dishware: KITCHENWARE,
  tableware: KITCHENWARE, crockery: KITCHENWARE, dish: KITCHENWARE,
  // food
  banana: 'banana', apple: 'apple', sandwich: 'sandwich', burger: 'sandwich', hamburger: 'sandwich',
  orange: 'orange', tangerine: 'orange', mandarin: 'orange', clementine: 'orange',
  broccoli: 'broccoli', carrot: 'carrot', 'hot dog': 'hot dog', hotdog: 'hot dog',
  pizza: 'pizza', donut: 'donut', doughnut: 'donut', cake: 'cake', cupcake: 'cake', 'birthday cake': 'cake',
  fruit: FRUIT, food: FOOD, vegetable: VEGETABLES, veggie: VEGETABLES, meal: FOOD, snack: FOOD,
  // furniture
  chair: 'chair', stool: 'chair', armchair: 'chair',
  couch: 'couch', sofa: 'couch', settee: 'couch', loveseat: 'couch',
  'potted plant': 'potted plant', 'pot plant': 'potted plant', houseplant: 'potted plant', 'house plant': 'potted plant',
  plant: 'potted plant', pottedplant: 'potted plant', 'flower pot': 'potted plant', flowerpot: 'potted plant',
  bed: 'bed', 'dining table': 'dining table', table: 'dining table', 'kitchen table': 'dining table',
  'dinner table': 'dining table', diningtable: 'dining table', desk: 'dining table',
  toilet: 'toilet', loo: 'toilet', 'toilet bowl': 'toilet', furniture: FURNITURE,
  // electronics
  tv: 'tv', television: 'tv', 'tv set': 'tv', tvmonitor: 'tv', monitor: 'tv', screen: 'tv',
  laptop: 'laptop', computer: 'laptop', macbook: 'laptop', 'laptop computer': 'laptop',
  mouse: 'mouse', 'computer mouse': 'mouse', remote: 'remote', 'remote control': 'remote', controller: 'remote',
  keyboard: 'keyboard', 'cell phone': 'cell phone', cellphone: 'cell phone', phone: 'cell phone',
  'mobile phone': 'cell phone', smartphone: 'cell phone', iphone: 'cell phone',
  telephone: 'cell phone', electronics: ELECTRONICS, gadget: ELECTRONICS, device: ELECTRONICS,
  'electronic device': ELECTRONICS, 'electronic item': ELECTRONICS,
  // appliances
  microwave: 'microwave', 'microwave oven': 'microwave', oven: 'oven', stove: 'oven', cooker: 'oven',
  toaster: 'toaster', sink: 'sink', basin: 'sink', washbasin: 'sink',
  refrigerator: 'refrigerator', fridge: 'refrigerator', freezer: 'refrigerator', appliance: APPLIANCES,
  // indoor
  book: 'book', novel: 'book', clock: 'clock', 'wall clock': 'clock', 'alarm clock': 'clock', vase: 'vase',
  scissors: 'scissors', 'pair of scissors': 'scissors', shears: 'scissors',
  'teddy bear': 'teddy bear', teddy: 'teddy bear', 'stuffed animal': 'teddy bear', 'stuffed toy': 'teddy bear',
  'soft toy': 'teddy bear', plushie: 'teddy bear', 'hair drier': 'hair drier', 'hair dryer': 'hair drier',
  hairdryer: 'hair drier', 'blow dryer': 'hair drier', 'blow drier': 'hair drier', toothbrush: 'toothbrush',
  'tooth brush': 'toothbrush',
};

/**
 * Words narrower than the class they map to (a kind of bird, a young horse, a kind of car):
 * the detector finds the class, never the kind, so a yes/no answer about them can only say
 * what class it sees.
 */
const NARROWER = new Set(
  ('eagle hawk parrot pigeon dove duck seagull gull owl chicken hen rooster swan goose crow sparrow penguin pelican heron ' +
    'flamingo kitten tomcat puppy pup hound pony foal stallion mare colt lamb ewe bull calf ox heifer grizzly panda ' +
    'sedan suv taxi cab jeep hatchback coupe minivan scooter moped minibus tram streetcar subway locomotive pickup ' +
    'sailboat yacht canoe kayak ferry jet airliner burger hamburger tangerine mandarin clementine cupcake sofa armchair ' +
    'stool macbook iphone smartphone basketball football volleyball baseball mug teacup goblet').split(' '),
);
const NARROWER_PHRASES = ['polar bear', 'grizzly bear', 'sports car', 'race car', 'dirt bike', 'school bus', 'double decker', 'fire truck', 'fire engine', 'dump truck', 'pickup truck', 'mountain bike', 'road bike', 'birthday cake', 'soccer ball', 'tennis ball', 'golf ball', 'rugby ball', 'beach ball'];
const NARROWER_ZH = new Set(
  ('老鷹 老鹰 鷹 鹰 鸚鵡 鹦鹉 鴿子 鸽子 鴨 鸭 鴨子 鸭子 海鷗 海鸥 貓頭鷹 猫头鹰 雞 鸡 母雞 母鸡 公雞 公鸡 天鵝 天鹅 鵝 鹅 麻雀 烏鴉 乌鸦 企鵝 企鹅 ' +
    '小貓 小猫 小狗 幼犬 小馬 小马 小羊 羔羊 公牛 小牛 水牛 北極熊 北极熊 熊貓 熊猫 計程車 计程车 出租車 出租车 跑車 跑车 吉普車 吉普车 ' +
    '校車 校车 消防車 消防车 帆船 遊艇 游艇 獨木舟 独木舟 籃球 篮球 足球 排球 網球 网球 棒球 漢堡 汉堡 馬克杯 马克杯').split(' '),
);

/** Whether a word the vocabulary matched names a kind narrower than its class ("eagle", "kitten", 老鷹). */
export function isNarrowerTerm(term: string): boolean {
  const t = term.toLowerCase().trim();
  if (NARROWER.has(t) || NARROWER_ZH.has(t) || NARROWER_PHRASES.includes(t)) return true;
  const singular = t.replace(/(?<=[^aeiou])ies$/, 'y').replace(/(?<=(s|x|z|ch|sh))es$/, '').replace(/s$/, '');
  return NARROWER.has(singular) || NARROWER_PHRASES.includes(singular);
}

/** Words that look like a class word but name something else: always unknown. */
const EN_NOT: string[] = [
  'sea horse', 'seahorse', 'sea lion', 'hot tub', 'mouse pad', 'dog house', 'doghouse', 'bird house', 'birdhouse',
  'cat walk', 'catwalk', 'bus stop', 'train station', 'car park', 'bike lane', 'bike rack', 'table cloth',
  'tablecloth', 'bed sheet', 'dog food', 'cat food', 'apple tree', 'orange juice', 'apple juice', 'phone case',
  'cake stand', 'glass', 'glasses', 'eyeglasses', 'sunglasses', 'fish', 'goat', 'deer', 'pig', 'rabbit', 'tiger',
  'lion', 'monkey', 'wolf', 'fox', 'unicorn', 'robot', 'tree', 'flower', 'road', 'building', 'house', 'sky',
];

/** Function words, instruction words and adjectives: neither a class nor an unknown noun. */
const EN_STOP = new Set(
  (
    'a an the this that these those there here it its it\'s they them their my your our his her me us we you i ' +
    'is are was were be been being am do does did have has had can could would should will shall may might must ' +
    'and or but nor not no yes with without of in on at to from by for into onto over under above below near ' +
    'next beside behind between among around through across along about against than then so as if ' +
    'what which who whom whose where when why how many much any some all every each both either neither ' +
    'other another more most less least few several lot lots only just also too very really please kindly ' +
    'find detect locate show count see look give draw mark highlight label identify list output return point ' +
    'segment segmentation mask masks box boxes bounding bbox coordinate coordinates outline circle crop tell ' +
    'describe spot search get make provide check notice visible present appear appears shown seen there\'s ' +
    'image images picture pictures photo photos photograph pic pics scene frame shot view background foreground ' +
    'object objects item items thing things everything anything something stuff one ones instance instances ' +
    'json format answer result results prominent main single multiple number total ' +
    'left right top bottom middle center centre front back side upper lower corner edge ' +
    'big small large little tiny huge tall short long wide old young new round ' +
    'red green blue yellow black white grey gray brown pink purple violet beige gold golden silver dark light ' +
    'bright colored coloured colorful colourful striped spotted ' +
    'zero two three four five six seven eight nine ten eleven twelve dozen pair couple group bunch herd flock pack ' +
    'first second third last own same different such like pretty cute whole part parts ' +
    'color colour colors colours kind kinds type types sort sorts position positions location locations size sizes ' +
    'area areas region regions way amount display displayed wear wears hold holds sit sits stand stands ride rides ' +
    'walk walks play plays eat eats fly flies run runs lie lies carry carries use uses hang hangs sleep sleeps ' +
    'drink drinks cross crosses wait waits seem seems nearby far away'
  ).split(/\s+/),
);

// 'orange' is a colour when it precedes a noun ("orange car").
const COLOUR_NOUNS = new Set(['orange']);

/** Nouns ending like verb forms or adverbs, which are otherwise skipped ("riding", "parked", "quickly"). */
const NOUNS_LIKE_VERBS = new Set(
  ('building painting drawing ceiling clothing ring king string wing swing sling pudding stuffing bedding earring ' +
    'railing awning sibling duckling seedling sapling dumpling icing wedding sled shed reed seed weed steed ' +
    'lily belly jelly bully fly butterfly dragonfly firefly holly trolley pulley tally rally').split(' '),
);

/** A verb form (-ing, -ed) or an adverb (-ly): not a noun the user wants found. */
function looksLikeVerbOrAdverb(token: string): boolean {
  if (NOUNS_LIKE_VERBS.has(token)) return false;
  return token.length > 4 && /(ing|ed|ly)$/.test(token);
}

const IRREGULAR_PLURALS: Record<string, string[]> = {
  person: ['people', 'persons', 'peoples'], man: ['men'], woman: ['women'], child: ['children'],
  gentleman: ['gentlemen'], knife: ['knives'], mouse: ['mice'], sheep: ['sheep'], cattle: ['cattle'],
  calf: ['calves'], ox: ['oxen'], goose: ['geese'], bus: ['buses', 'busses'], passerby: ['passersby'],
  skis: ['skis'], scissors: ['scissors'], shears: ['shears'], fish: ['fish'], deer: ['deer'], glasses: ['glasses'],
  eyeglasses: ['eyeglasses'], sunglasses: ['sunglasses'], electronics: ['electronics'], luggage: ['luggage'],
  baggage: ['baggage'], furniture: ['furniture'], cutlery: ['cutlery'], silverware: ['silverware'],
  broccoli: ['broccoli'], livestock: ['livestock'], wolf: ['wolves'], shelf: ['shelves'], 'pair of scissors': ['pairs of scissors'],
  'human being': ['human beings'], 'passer by': ['passers by'],
};

function pluralsOf(term: string): string[] {
  const irregular = IRREGULAR_PLURALS[term];
  if (irregular) return irregular;
  const words = term.split(' ');
  const last = words.pop()!;
  const lastIrregular = IRREGULAR_PLURALS[last];
  let forms: string[];
  if (lastIrregular) forms = lastIrregular;
  else if (/(s|x|z|ch|sh)$/.test(last)) forms = [`${last}es`];
  else if (/[^aeiou]y$/.test(last)) forms = [`${last.slice(0, -1)}ies`];
  else forms = [`${last}s`];
  return forms.map((f) => [...words, f].join(' '));
}

type Entry = { classes: CocoClass[] } | { unknown: true };

function buildEnglish(): { terms: Map<string, Entry>; maxWords: number } {
  const terms = new Map<string, Entry>();
  let maxWords = 1;
  const add = (term: string, entry: Entry) => {
    for (const form of [term, ...pluralsOf(term)]) {
      if (!terms.has(form) || form === term) terms.set(form, entry);
      maxWords = Math.max(maxWords, form.split(' ').length);
    }
  };
  for (const [term, cls] of Object.entries(EN)) add(term, { classes: Array.isArray(cls) ? cls : [cls] });
  for (const name of COCO_CLASSES) if (!terms.has(name)) add(name, { classes: [name] });
  for (const term of EN_NOT) add(term, { unknown: true });
  return { terms, maxWords };
}

// ---- Chinese ----------------------------------------------------------------------------

/**
 * Chinese terms → classes. Traditional and Simplified forms are both listed where they
 * differ. Matching is longest-first, so 熱狗 (hot dog) wins over 狗 and 自行車 over 車.
 */
const ZH: Record<string, CocoClass | CocoClass[]> = {
  // person
  人: 'person', 人們: 'person', 人们: 'person', 行人: 'person', 路人: 'person', 人物: 'person', 人類: 'person', 人类: 'person',
  人群: 'person', 男人: 'person', 女人: 'person', 男生: 'person', 女生: 'person', 男孩: 'person', 女孩: 'person',
  男子: 'person', 女子: 'person', 男士: 'person', 女士: 'person', 小孩: 'person', 孩子: 'person', 兒童: 'person', 儿童: 'person',
  小朋友: 'person', 嬰兒: 'person', 婴儿: 'person', 寶寶: 'person', 宝宝: 'person', 大人: 'person', 成人: 'person',
  遊客: 'person', 游客: 'person', 球員: 'person', 球员: 'person', 乘客: 'person', 司機: 'person', 司机: 'person',
  老人: 'person', 學生: 'person', 学生: 'person', 某人: 'person', 有人: 'person', 人士: 'person', 家人: 'person',
  // vehicles
  自行車: 'bicycle', 自行车: 'bicycle', 腳踏車: 'bicycle', 脚踏车: 'bicycle', 單車: 'bicycle', 单车: 'bicycle',
  單車們: 'bicycle', 腳車: 'bicycle',
  車: 'car', 车: 'car', 汽車: 'car', 汽车: 'car', 小汽車: 'car', 小汽车: 'car', 轎車: 'car', 轿车: 'car',
  小客車: 'car', 小客车: 'car', 計程車: 'car', 计程车: 'car', 出租車: 'car', 出租车: 'car', 的士: 'car',
  跑車: 'car', 跑车: 'car', 私家車: 'car', 私家车: 'car', 房車: 'car', 房车: 'car', 吉普車: 'car', 吉普车: 'car',
  休旅車: 'car', 越野車: 'car', 越野车: 'car', 麵包車: ['car', 'truck'], 面包车: ['car', 'truck'],
  摩托車: 'motorcycle', 摩托车: 'motorcycle', 機車: 'motorcycle', 電單車: 'motorcycle', 电单车: 'motorcycle',
  重機: 'motorcycle', 機車們: 'motorcycle', 電動車: 'motorcycle', 电动车: 'motorcycle', 踏板車: 'motorcycle',
  飛機: 'airplane', 飞机: 'airplane', 客機: 'airplane', 客机: 'airplane', 噴射機: 'airplane', 喷气式飞机: 'airplane',
  航空器: 'airplane',
  公車: 'bus', 公车: 'bus', 公交車: 'bus', 公交车: 'bus', 巴士: 'bus', 大巴: 'bus', 客車: 'bus', 客车: 'bus',
  校車: 'bus', 校车: 'bus', 大客車: 'bus', 大客车: 'bus',
  火車: 'train', 火车: 'train', 列車: 'train', 列车: 'train', 地鐵: 'train', 地铁: 'train', 高鐵: 'train', 高铁: 'train',
  電車: 'train', 电车: 'train', 動車: 'train', 动车: 'train', 捷運: 'train', 機車頭: 'train', 机车: 'train',
  卡車: 'truck', 卡车: 'truck', 貨車: 'truck', 货车: 'truck', 皮卡: 'truck', 皮卡車: 'truck', 皮卡车: 'truck',
  消防車: 'truck', 消防车: 'truck', 大貨車: 'truck', 大货车: 'truck', 貨櫃車: 'truck', 拖車: 'truck', 拖车: 'truck',
  船: 'boat', 小船: 'boat', 船隻: 'boat', 船只: 'boat', 帆船: 'boat', 遊艇: 'boat', 游艇: 'boat', 輪船: 'boat',
  轮船: 'boat', 舟: 'boat', 獨木舟: 'boat', 独木舟: 'boat', 渡輪: 'boat', 渡轮: 'boat', 快艇: 'boat', 艇: 'boat',
  車輛: VEHICLES, 车辆: VEHICLES, 交通工具: VEHICLES, 載具: VEHICLES,
  // street
  紅綠燈: 'traffic light', 红绿灯: 'traffic light', 交通燈: 'traffic light', 交通灯: 'traffic light',
  信號燈: 'traffic light', 信号灯: 'traffic light', 號誌: 'traffic light', 红灯: 'traffic light', 紅燈: 'traffic light',
  消防栓: 'fire hydrant', 消防龍頭: 'fire hydrant', 消防龙头: 'fire hydrant',
  停車標誌: 'stop sign', 停车标志: 'stop sign', 停止標誌: 'stop sign', 停止标志: 'stop sign', 停車牌: 'stop sign',
  停车牌: 'stop sign',
  停車收費錶: 'parking meter', 停车收费表: 'parking meter', 停車計時器: 'parking meter', 停车计时器: 'parking meter',
  咪錶: 'parking meter', 咪表: 'parking meter',
  長椅: 'bench', 长椅: 'bench', 長凳: 'bench', 长凳: 'bench', 板凳: 'bench',
  // animals
  鳥: 'bird', 鸟: 'bird', 小鳥: 'bird', 小鸟: 'bird', 鳥類: 'bird', 鸟类: 'bird', 鳥兒: 'bird', 鸟儿: 'bird',
  老鷹: 'bird', 老鹰: 'bird', 鷹: 'bird', 鹰: 'bird', 老鷹們: 'bird', 鸚鵡: 'bird', 鹦鹉: 'bird', 鴿子: 'bird', 鸽子: 'bird',
  鴨: 'bird', 鸭: 'bird', 鴨子: 'bird', 鸭子: 'bird', 海鷗: 'bird', 海鸥: 'bird', 貓頭鷹: 'bird', 猫头鹰: 'bird',
  雞: 'bird', 鸡: 'bird', 母雞: 'bird', 母鸡: 'bird', 公雞: 'bird', 公鸡: 'bird', 天鵝: 'bird', 天鹅: 'bird',
  鵝: 'bird', 鹅: 'bird', 麻雀: 'bird', 烏鴉: 'bird', 乌鸦: 'bird', 企鵝: 'bird', 企鹅: 'bird',
  貓: 'cat', 猫: 'cat', 貓咪: 'cat', 猫咪: 'cat', 小貓: 'cat', 小猫: 'cat', 喵星人: 'cat', 貓貓: 'cat', 猫猫: 'cat',
  狗: 'dog', 狗狗: 'dog', 小狗: 'dog', 犬: 'dog', 幼犬: 'dog', 汪星人: 'dog', 狗兒: 'dog', 狗儿: 'dog', 大狗: 'dog',
  小狗狗: 'dog',
  馬: 'horse', 马: 'horse', 小馬: 'horse', 小马: 'horse', 馬兒: 'horse', 马儿: 'horse', 馬匹: 'horse', 马匹: 'horse',
  駿馬: 'horse', 骏马: 'horse', 小馬駒: 'horse', 小马驹: 'horse', 白馬: 'horse', 白马: 'horse',
  羊: 'sheep', 綿羊: 'sheep', 绵羊: 'sheep', 小羊: 'sheep', 羔羊: 'sheep', 羊群: 'sheep',
  牛: 'cow', 乳牛: 'cow', 奶牛: 'cow', 母牛: 'cow', 公牛: 'cow', 小牛: 'cow', 牛群: 'cow', 黃牛: 'cow', 黄牛: 'cow',
  水牛: 'cow', 牛隻: 'cow',
  象: 'elephant', 大象: 'elephant', 小象: 'elephant',
  熊: 'bear', 北極熊: 'bear', 北极熊: 'bear', 棕熊: 'bear', 黑熊: 'bear', 熊貓: 'bear', 熊猫: 'bear',
  斑馬: 'zebra', 斑马: 'zebra', 長頸鹿: 'giraffe', 长颈鹿: 'giraffe',
  動物: ANIMALS, 动物: ANIMALS, 寵物: ['cat', 'dog'], 宠物: ['cat', 'dog'], 牲畜: ['horse', 'sheep', 'cow'],
  家畜: ['horse', 'sheep', 'cow'],
  // accessories
  背包: 'backpack', 後背包: 'backpack', 后背包: 'backpack', 雙肩包: 'backpack', 双肩包: 'backpack',
  書包: 'backpack', 书包: 'backpack', 登山包: 'backpack',
  雨傘: 'umbrella', 雨伞: 'umbrella', 傘: 'umbrella', 伞: 'umbrella', 陽傘: 'umbrella', 阳伞: 'umbrella',
  手提包: 'handbag', 手袋: 'handbag', 包包: 'handbag', 提包: 'handbag', 皮包: 'handbag', 手提袋: 'handbag',
  肩包: 'handbag', 女包: 'handbag', 袋子: BAGS, 包: BAGS,
  領帶: 'tie', 领带: 'tie', 領結: 'tie', 领结: 'tie',
  行李箱: 'suitcase', 手提箱: 'suitcase', 旅行箱: 'suitcase', 皮箱: 'suitcase', 拉桿箱: 'suitcase',
  拉杆箱: 'suitcase', 行李: 'suitcase', 配件: ACCESSORIES, 配飾: ACCESSORIES, 配饰: ACCESSORIES,
  // sports
  飛盤: 'frisbee', 飞盘: 'frisbee', 飛碟: 'frisbee', 飞碟: 'frisbee',
  滑雪板: 'skis', 滑雪屐: 'skis', 雙板: 'skis', 双板: 'skis',
  單板: 'snowboard', 单板: 'snowboard', 單板滑雪板: 'snowboard', 单板滑雪板: 'snowboard', 雪板: 'snowboard',
  球: 'sports ball', 足球: 'sports ball', 籃球: 'sports ball', 篮球: 'sports ball', 排球: 'sports ball',
  網球: 'sports ball', 网球: 'sports ball', 棒球: 'sports ball', 皮球: 'sports ball', 高爾夫球: 'sports ball',
  高尔夫球: 'sports ball', 橄欖球: 'sports ball', 橄榄球: 'sports ball', 壘球: 'sports ball', 垒球: 'sports ball',
  風箏: 'kite', 风筝: 'kite', 紙鳶: 'kite', 纸鸢: 'kite',
  球棒: 'baseball bat', 棒球棒: 'baseball bat', 棒球棍: 'baseball bat', 球棍: 'baseball bat',
  棒球手套: 'baseball glove', 壘球手套: 'baseball glove', 垒球手套: 'baseball glove',
  滑板: 'skateboard', 衝浪板: 'surfboard', 冲浪板: 'surfboard', 滑浪板: 'surfboard',
  網球拍: 'tennis racket', 网球拍: 'tennis racket', 球拍: 'tennis racket', 羽毛球拍: 'tennis racket',
  運動器材: SPORTS, 运动器材: SPORTS, 體育用品: SPORTS, 体育用品: SPORTS, 運動用品: SPORTS, 运动用品: SPORTS,
  運動裝備: SPORTS, 运动装备: SPORTS,
  // kitchen
  瓶子: 'bottle', 瓶: 'bottle', 水瓶: 'bottle', 酒瓶: 'bottle', 水壺: 'bottle', 寶特瓶: 'bottle', 塑料瓶: 'bottle',
  酒杯: 'wine glass', 紅酒杯: 'wine glass', 红酒杯: 'wine glass', 葡萄酒杯: 'wine glass', 高腳杯: 'wine glass',
  高脚杯: 'wine glass',
  杯子: 'cup', 杯: 'cup', 茶杯: 'cup', 咖啡杯: 'cup', 馬克杯: 'cup', 马克杯: 'cup', 水杯: 'cup', 玻璃杯: 'cup',
  叉子: 'fork', 叉: 'fork', 餐叉: 'fork', 刀: 'knife', 刀子: 'knife', 小刀: 'knife', 餐刀: 'knife', 菜刀: 'knife',
  湯匙: 'spoon', 汤匙: 'spoon', 勺子: 'spoon', 勺: 'spoon', 調羹: 'spoon', 调羹: 'spoon', 匙: 'spoon', 湯勺: 'spoon',
  汤勺: 'spoon', 餐具: CUTLERY, 刀叉: ['fork', 'knife'],
  碗: 'bowl', 飯碗: 'bowl', 饭碗: 'bowl',
  廚具: KITCHENWARE, 厨具: KITCHENWARE, 廚房用品: KITCHENWARE, 厨房用品: KITCHENWARE, 器皿: KITCHENWARE,
  碗盤: KITCHENWARE, 碗盘: KITCHENWARE,
  // food
  香蕉: 'banana', 蘋果: 'apple', 苹果: 'apple', 三明治: 'sandwich', 三文治: 'sandwich', 漢堡: 'sandwich', 汉堡: 'sandwich',
  橙子: 'orange', 橙: 'orange', 柳橙: 'orange', 柳丁: 'orange', 橘子: 'orange', 桔子: 'orange', 柑橘: 'orange', 橘: 'orange',
  西蘭花: 'broccoli', 西兰花: 'broccoli', 花椰菜: 'broccoli', 青花菜: 'broccoli', 綠花椰: 'broccoli', 绿花椰: 'broccoli',
  胡蘿蔔: 'carrot', 胡萝卜: 'carrot', 紅蘿蔔: 'carrot', 红萝卜: 'carrot',
  熱狗: 'hot dog', 热狗: 'hot dog', 披薩: 'pizza', 披萨: 'pizza', 比薩: 'pizza', 比萨: 'pizza', 薄餅: 'pizza',
  甜甜圈: 'donut', 冬甩: 'donut', 蛋糕: 'cake', 杯子蛋糕: 'cake',
  水果: FRUIT, 食物: FOOD, 食品: FOOD, 蔬菜: VEGETABLES,
  // furniture
  椅子: 'chair', 椅: 'chair', 凳子: 'chair', 凳: 'chair', 扶手椅: 'chair', 座椅: 'chair',
  沙發: 'couch', 沙发: 'couch',
  盆栽: 'potted plant', 植物: 'potted plant', 盆景: 'potted plant', 盆花: 'potted plant', 花盆: 'potted plant',
  床: 'bed', 床鋪: 'bed', 床铺: 'bed',
  餐桌: 'dining table', 桌子: 'dining table', 桌: 'dining table', 飯桌: 'dining table', 饭桌: 'dining table',
  書桌: 'dining table', 书桌: 'dining table',
  馬桶: 'toilet', 马桶: 'toilet', 廁所: 'toilet', 厕所: 'toilet', 坐便器: 'toilet', 座廁: 'toilet',
  家具: FURNITURE, 傢俱: FURNITURE, 家俱: FURNITURE,
  // electronics
  電視: 'tv', 电视: 'tv', 電視機: 'tv', 电视机: 'tv', 螢幕: 'tv', 屏幕: 'tv', 顯示器: 'tv', 显示器: 'tv',
  筆電: 'laptop', 笔电: 'laptop', 筆記型電腦: 'laptop', 笔记本电脑: 'laptop', 手提電腦: 'laptop', 手提电脑: 'laptop',
  電腦: 'laptop', 电脑: 'laptop', 筆記本電腦: 'laptop',
  滑鼠: 'mouse', 鼠標: 'mouse', 鼠标: 'mouse',
  遙控器: 'remote', 遥控器: 'remote', 遙控: 'remote', 遥控: 'remote',
  鍵盤: 'keyboard', 键盘: 'keyboard',
  手機: 'cell phone', 手机: 'cell phone', 電話: 'cell phone', 电话: 'cell phone', 智能手機: 'cell phone',
  智能手机: 'cell phone', 智慧型手機: 'cell phone', 行動電話: 'cell phone', 移动电话: 'cell phone',
  電子產品: ELECTRONICS, 电子产品: ELECTRONICS,
  // appliances
  微波爐: 'microwave', 微波炉: 'microwave', 烤箱: 'oven', 烤爐: 'oven', 烤炉: 'oven', 焗爐: 'oven', 焗炉: 'oven',
  爐子: 'oven', 炉子: 'oven', 烤麵包機: 'toaster', 烤面包机: 'toaster', 多士爐: 'toaster', 多士炉: 'toaster',
  吐司機: 'toaster', 吐司机: 'toaster', 水槽: 'sink', 洗手台: 'sink', 洗手盆: 'sink', 洗碗槽: 'sink', 水池: 'sink',
  冰箱: 'refrigerator', 雪櫃: 'refrigerator', 雪柜: 'refrigerator', 電冰箱: 'refrigerator', 电冰箱: 'refrigerator',
  家電: APPLIANCES, 家电: APPLIANCES, 電器: APPLIANCES, 电器: APPLIANCES,
  // indoor
  書: 'book', 书: 'book', 書本: 'book', 书本: 'book', 書籍: 'book', 书籍: 'book', 圖書: 'book', 图书: 'book',
  時鐘: 'clock', 时钟: 'clock', 鐘: 'clock', 钟: 'clock', 掛鐘: 'clock', 挂钟: 'clock', 鬧鐘: 'clock', 闹钟: 'clock',
  鐘錶: 'clock', 钟表: 'clock',
  花瓶: 'vase', 剪刀: 'scissors', 剪子: 'scissors',
  泰迪熊: 'teddy bear', 玩具熊: 'teddy bear', 絨毛熊: 'teddy bear', 绒毛熊: 'teddy bear', 毛絨玩具: 'teddy bear',
  毛绒玩具: 'teddy bear', 布偶: 'teddy bear', 公仔: 'teddy bear',
  吹風機: 'hair drier', 吹风机: 'hair drier', 風筒: 'hair drier', 风筒: 'hair drier', 牙刷: 'toothbrush',
};

/** Words containing a class character that mean something else: reported as unknown. */
const ZH_NOT: string[] = [
  '機器人', '机器人', '人行道', '人行橫道', '人行横道', '斑馬線', '斑马线', '馬路', '马路', '河馬', '河马', '海馬', '海马',
  '木馬', '木马', '馬鈴薯', '马铃薯', '羅馬', '罗马', '蝸牛', '蜗牛', '牛奶', '牛排', '牛肉', '羊毛', '羊肉', '山羊',
  '氣球', '气球', '地球', '眼球', '老鼠', '松鼠', '袋鼠', '車站', '车站', '火車站', '火车站', '車庫', '车库',
  '停車場', '停车场', '車道', '车道', '車牌', '车牌', '車輪', '车轮', '輪胎', '轮胎', '雞蛋', '鸡蛋', '雞肉', '鸡肉',
  '狗屋', '貓砂', '猫砂', '熊貓眼', '書架', '书架', '書櫃', '书柜', '床單', '床单', '杯墊', '杯垫', '麵包', '面包',
  '刀片', '手套', '包括', '包含', '包裝', '包装', '鹿', '豬', '猪', '兔', '兔子', '老虎', '獅子', '狮子', '猴子', '魚', '鱼', '金魚', '金鱼', '樹', '树',
  '花', '花朵', '房子', '建築', '建筑', '天空', '獨角獸', '独角兽', '龍', '龙', '恐龍', '恐龙',
];

/**
 * Chinese function words, numerals, measure words, colours, positions and instruction words:
 * skipped. Longest-first, like the terms.
 */
const ZH_STOP: string[] = [
  // multi-character first (only for readability; matching is by length anyway)
  '圖片', '图片', '照片', '相片', '影像', '圖像', '图像', '畫面', '画面', '圖中', '图中', '裡面', '里面', '上面', '下面',
  '左邊', '左边', '右邊', '右边', '中間', '中间', '前面', '後面', '后面', '旁邊', '旁边', '附近', '背景', '前景',
  '所有', '全部', '每個', '每个', '每一', '一些', '有些', '幾個', '几个', '多少', '哪些', '哪裡', '哪里', '什麼', '什么',
  '這個', '这个', '那個', '那个', '這些', '这些', '那些', '還是', '还是', '或者', '以及', '還有', '还有', '和與',
  '請問', '请问', '找出', '找到', '標出', '标出', '框出', '圈出', '指出', '偵測', '侦测', '檢測', '检测', '辨識', '识别',
  '辨识', '分割', '遮罩', '定界框', '邊界框', '边界框', '座標', '坐标', '位置', '在哪', '是否', '有沒有', '有没有',
  '物體', '物体', '物件', '對象', '对象', '東西', '东西', '目標', '目标', '項目', '项目', '物品', '主要', '明顯', '明显',
  '顏色', '颜色', '紅色', '红色', '綠色', '绿色', '藍色', '蓝色', '黃色', '黄色', '黑色', '白色', '灰色', '棕色',
  '咖啡色', '粉色', '粉紅色', '粉红色', '紫色', '橙色', '橘色', '金色', '銀色', '银色', '彩色',
  '可愛', '可爱', '漂亮', '一起', '正在', '看到', '看見', '看见', '出現', '出现', '顯示', '显示', '列出', '輸出', '输出', '數一數',
  '数一数', '計算', '计算', '交叉', '印象', '現象', '现象', '形象', '想像', '想象', '抽象', '一下', '告訴', '告诉',
  // single characters
  '的', '地', '得', '和', '與', '与', '跟', '及', '或', '同', '並', '并', '而', '但', '也', '都', '又', '還', '还', '再',
  '一', '二', '兩', '两', '三', '四', '五', '六', '七', '八', '九', '十', '百', '千', '幾', '几', '多', '少', '每', '各',
  '個', '个', '隻', '只', '條', '条', '輛', '辆', '台', '臺', '架', '艘', '頭', '头', '匹', '張', '张', '把', '本', '件',
  '位', '名', '雙', '双', '對', '对', '群', '堆', '些', '片', '顆', '颗', '粒', '盞', '盏', '根', '支', '枝', '副', '塊', '块',
  '這', '这', '那', '哪', '此', '其', '裡', '里', '上', '下', '中', '內', '内', '外', '邊', '边', '旁', '前', '後', '后',
  '左', '右', '有', '在', '是', '嗎', '吗', '呢', '吧', '啊', '了', '着', '著', '過', '过', '請', '请', '給', '给',
  '我', '你', '您', '他', '她', '它', '們', '们', '出', '找', '看', '見', '见', '圖', '图', '照', '畫', '画', '框', '標', '标',
  '數', '数', '大', '紅', '红', '綠', '绿', '藍', '蓝', '黃', '黄', '黑', '白', '灰', '色', '被', '把', '將', '将', '從', '从',
  '到', '向', '於', '于', '為', '为', '以', '用', '所', '能', '會', '会', '可', '要', '想', '沒', '没', '不', '很', '最',
  '更', '非', '常', '麼', '么', '甚', '誰', '谁', '何', '幫', '帮', '做', '令', '讓', '让',
  '騎', '骑', '坐', '站', '走', '跑', '飛', '飞', '吃', '喝', '玩', '拿', '抱', '穿', '戴', '躺', '睡', '停', '開', '开',
  '帶', '带', '牽', '牵', '追', '放', '掛', '挂', '握', '趴', '叼', '咬', '望', '等',
  '小', '新', '舊', '旧', '高', '矮', '長', '长', '短', '胖', '瘦', '美', '好', '隻隻', '只只',
];

function buildChinese(): { terms: Map<string, Entry>; stops: Set<string>; maxLen: number } {
  const terms = new Map<string, Entry>();
  let maxLen = 1;
  for (const [term, cls] of Object.entries(ZH)) {
    terms.set(term, { classes: Array.isArray(cls) ? cls : [cls] });
    maxLen = Math.max(maxLen, [...term].length);
  }
  for (const term of ZH_NOT) {
    terms.set(term, { unknown: true });
    maxLen = Math.max(maxLen, [...term].length);
  }
  const stops = new Set(ZH_STOP.filter((s) => !terms.has(s)));
  for (const s of stops) maxLen = Math.max(maxLen, [...s].length);
  return { terms, stops, maxLen };
}

let english: ReturnType<typeof buildEnglish> | null = null;
let chinese: ReturnType<typeof buildChinese> | null = null;

export interface PromptClasses {
  /** COCO classes the text names, in order of first mention, without repeats. */
  classes: CocoClass[];
  /** Nouns (or noun phrases) the text names that map to no COCO class, as written. */
  unknown: string[];
}

export interface PromptTerms extends PromptClasses {
  /**
   * Each known word as written and the classes it covers, in order: a category word
   * ("vehicle", 動物) is one term over several classes, so a yes/no question about it gets
   * one answer, not one per class.
   */
  terms: Array<{ text: string; classes: CocoClass[] }>;
}

const HAN = /\p{Script=Han}/u;

/**
 * The COCO classes a prompt (or a phrase from one) names, and the nouns it names that no
 * COCO class covers. English and Chinese (Traditional or Simplified), mixed or not.
 *
 *   cocoClassesInPrompt('Find the puppies and people')   → { classes: ['dog', 'person'], unknown: [] }
 *   cocoClassesInPrompt('圖中有幾隻狗狗和馬？')            → { classes: ['dog', 'horse'], unknown: [] }
 *   cocoClassesInPrompt('where is the unicorn')           → { classes: [], unknown: ['unicorn'] }
 */
export function cocoClassesInPrompt(text: string): PromptClasses {
  const { classes, unknown } = cocoTermsInPrompt(text);
  return { classes, unknown };
}

/** cocoClassesInPrompt plus the words that named them (`terms`). */
export function cocoTermsInPrompt(text: string): PromptTerms {
  const classes: CocoClass[] = [];
  const unknown: string[] = [];
  const terms: PromptTerms['terms'] = [];
  const addClasses = (cs: readonly CocoClass[], term: string) => {
    for (const c of cs) if (!classes.includes(c)) classes.push(c);
    if (!terms.some((t) => t.text === term)) terms.push({ text: term, classes: [...cs] });
  };
  const addUnknown = (u: string) => {
    const t = u.trim();
    if (t && !unknown.includes(t)) unknown.push(t);
  };
  // Split into runs of Han characters and runs of everything else.
  const runs = text.normalize('NFKC').match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu) ?? [];
  for (const run of runs) {
    if (HAN.test(run)) scanChinese(run, addClasses, addUnknown);
    else scanEnglish(run, addClasses, addUnknown);
  }
  return { classes, unknown, terms };
}

/** Same as cocoClassesInPrompt, typed as the planner's `Vocabulary` (classes as plain strings). */
export function vocabulary(phrase: string): { classes: string[]; unknown: string[]; terms: Array<{ text: string; classes: string[] }> } {
  return cocoTermsInPrompt(phrase);
}

function scanEnglish(text: string, addClasses: (c: readonly CocoClass[], term: string) => void, addUnknown: (u: string) => void): void {
  english ??= buildEnglish();
  const { terms, maxWords } = english;
  const words = (text.toLowerCase().replace(/[’‘]/g, "'").match(/[a-z0-9]+(?:['-][a-z0-9]+)*/g) ?? []).map((w) =>
    w.replace(/'s$/, '').replace(/-/g, ' '),
  );
  // Hyphenated words become several tokens ("t-rex" → "t rex"), as does "teddy-bear".
  const tokens = words.flatMap((w) => w.split(' ')).filter(Boolean);
  let pending: string[] = [];
  const flush = () => {
    if (pending.length) addUnknown(pending.join(' '));
    pending = [];
  };
  for (let i = 0; i < tokens.length; ) {
    let matched = 0;
    for (let n = Math.min(maxWords, tokens.length - i); n >= 1; n--) {
      const phrase = tokens.slice(i, i + n).join(' ');
      const entry = terms.get(phrase);
      if (!entry) continue;
      // "orange car": a colour, not the fruit, when another noun follows.
      if (n === 1 && COLOUR_NOUNS.has(phrase) && i + 1 < tokens.length && isNoun(tokens[i + 1]!)) break;
      flush();
      if ('classes' in entry) addClasses(entry.classes, phrase);
      else addUnknown(phrase);
      matched = n;
      break;
    }
    if (matched) {
      i += matched;
      continue;
    }
    const token = tokens[i]!;
    if (EN_STOP.has(token) || COLOUR_NOUNS.has(token) || /^\d+$/.test(token) || looksLikeVerbOrAdverb(token)) flush();
    else pending.push(token);
    i++;
  }
  flush();
}

function isNoun(token: string): boolean {
  english ??= buildEnglish();
  return english.terms.has(token) || !(EN_STOP.has(token) || looksLikeVerbOrAdverb(token) || /^\d+$/.test(token));
}

function scanChinese(text: string, addClasses: (c: readonly CocoClass[], term: string) => void, addUnknown: (u: string) => void): void {
  chinese ??= buildChinese();
  const { terms, stops, maxLen } = chinese;
  const chars = [...text];
  let pending = '';
  const flush = () => {
    if (pending) addUnknown(pending);
    pending = '';
  };
  for (let i = 0; i < chars.length; ) {
    let step = 0;
    for (let n = Math.min(maxLen, chars.length - i); n >= 1; n--) {
      const s = chars.slice(i, i + n).join('');
      const entry = terms.get(s);
      if (entry) {
        flush();
        if ('classes' in entry) addClasses(entry.classes, s);
        else addUnknown(s);
        step = n;
        break;
      }
      if (stops.has(s)) {
        flush();
        step = n;
        break;
      }
    }
    if (step) {
      i += step;
      continue;
    }
    pending += chars[i];
    i++;
  }
  flush();
}
