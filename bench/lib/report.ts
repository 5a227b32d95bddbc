/** Markdown tables and the per-suite result the runner prints and writes to docs/benchmarks.md. */
import type { CpuShare } from './machine.js';

export interface Table {
  head: string[];
  rows: string[][];
  /** Column alignment; default: first column left, the others right. */
  align?: ('left' | 'right')[];
}

export interface SuiteResult {
  /** Section title in docs/benchmarks.md. */
  title: string;
  /** Markdown: what is measured, how, and what the baseline is. */
  method: string;
  tables: Table[];
  /** Markdown bullet points after the tables (caveats, observations computed from the numbers). */
  notes: string[];
  /** How long the suite took, wall clock. */
  seconds: number;
  /** CPU used by other processes while the suite ran. */
  cpu: CpuShare | undefined;
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(t: Table): string {
  const align = t.head.map((_, i) => t.align?.[i] ?? (i === 0 ? 'left' : 'right'));
  const widths = t.head.map((h, i) => Math.max(h.length, 3, ...t.rows.map((r) => escapeCell(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells
      .map((c, i) => {
        const cell = escapeCell(c);
        return align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(t.head), rule, ...t.rows.map((r) => line(t.head.map((_, i) => r[i] ?? '')))].join('\n');
}
