/**
 * What the router planned a request to be: the task the prompt asks for, the objects it is
 * about, the language to answer in and whether JSON was asked for. The router plans once
 * (engine/planner.ts) and hands this to every provider in the provider context, so providers
 * read the plan from the seam without importing the planner.
 */

/** The language to answer in: English, or Chinese in the script the user wrote. */
export type Lang = 'en' | 'zh-Hant' | 'zh-Hans';

export interface Term {
  text: string;
  classes: string[];
}

export interface Targets {
  /** Every prominent object, not named ones. */
  all: boolean;
  classes: string[];
  /** Things the user named that the models do not know. */
  unknown: string[];
  /** The words that named the classes, when the vocabulary gives them. */
  terms?: Term[];
}

/** What a yes/no question asks about its targets, beyond "is it there". */
export type Attribute =
  | { kind: 'exists' }
  | { kind: 'count'; op: '>' | '>=' | '<' | '<=' | '='; n: number }
  | { kind: 'colour'; colour: string }
  | { kind: 'position'; place: 'left' | 'right' | 'top' | 'bottom' | 'centre' }
  | { kind: 'size'; size: 'large' | 'small' }
  | { kind: 'text' }
  | { kind: 'light'; light: 'dark' | 'bright' };

export type Task =
  | { kind: 'caption'; detail: 'short' | 'detailed' }
  | { kind: 'detect'; targets: Targets }
  | { kind: 'segment'; targets: Targets }
  | { kind: 'readText' }
  | { kind: 'count'; targets: Targets }
  /**
   * A yes/no question: "Is there a cat?", "Is this a photo of an animal?", "Are there more
   * than two people?", 有沒有貓？ `any`: one named thing suffices ("a cat or a dog");
   * `copula`: asked as "is it / 是…嗎" rather than "is there / 有…嗎" (Chinese answers 是/有).
   */
  | { kind: 'yesno'; targets: Targets; attribute: Attribute; any: boolean; copula: boolean }
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
