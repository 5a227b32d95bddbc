/** What the composer writes for one task: sentences, and data when the answer has some. Its own module so the per-task writers and answer.ts share it without importing each other. */
export interface Answer {
  sentences: string[];
  /** The answer as data, when the task has one (detection list, masks, counts…). */
  data?: unknown;
  /** True when `data` is the whole answer (detect, segment): prose would only wrap it. */
  dataIsAnswer?: boolean;
}
