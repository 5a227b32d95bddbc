import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLineProgress, createProgress, formatBytes, formatDuration } from '../../src/cli/progress.js';

/** A writable that keeps what was written; not a TTY unless told. */
function sink(tty = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty) {
    stream.isTTY = true;
    stream.columns = 120;
  }
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text, lines: () => text.split('\n').filter(Boolean) };
}

describe('formatting', () => {
  it('writes bytes in binary units and durations in s / m / h', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(40 * 1024 * 1024)).toBe('40.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});

describe('plain-line progress (not a TTY)', () => {
  it('writes an update at most once per interval, then one end line with the summary', () => {
    const out = sink();
    let t = 0;
    const p = createLineProgress({ label: 'upload', total: 40 * 1024 * 1024, unit: 'bytes', stream: out.stream }, () => t);
    for (let i = 1; i <= 40; i++) {
      t += 100; // 40 updates over 4 s
      p.update(i * 1024 * 1024);
    }
    p.done();
    const lines = out.lines();
    // At 1 s, 2 s, 3 s, 4 s, plus the end line: not one line per update.
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('upload: 10.0 MiB / 40.0 MiB (25%), 10.0 MiB/s, ETA 3s');
    expect(lines[4]).toBe('upload: done, 40.0 MiB / 40.0 MiB (100%), 10.0 MiB/s in 4.0 s');
    expect(out.text()).not.toMatch(/\r|\x1b/);
  });

  it('writes nothing but the end line for a step shorter than the interval', () => {
    const out = sink();
    let t = 0;
    const p = createLineProgress({ label: 'upload', total: 100, stream: out.stream }, () => t);
    for (let i = 1; i <= 100; i++) {
      t += 5;
      p.update(i);
    }
    p.done('uploaded files/abc');
    expect(out.lines()).toEqual(['upload: uploaded files/abc']);
  });

  it('writes notes at once, takes a total given late, and ignores calls after the end', () => {
    const out = sink();
    let t = 0;
    const p = createLineProgress({ label: 'models', stream: out.stream }, () => t);
    p.note('loading the offline models…');
    t = 1500;
    p.update(3, 6);
    p.fail('worker crashed');
    p.update(6);
    p.done();
    expect(out.lines()).toEqual(['models: loading the offline models…', 'models: 3 / 6 (50%), 2.0/s, ETA 2s', 'models: failed: worker crashed']);
  });

  it('is what createProgress picks for a stream that is not a TTY', () => {
    const out = sink();
    const p = createProgress({ label: 'upload', total: 10, stream: out.stream });
    p.update(5);
    p.done('ok');
    expect(out.lines()).toEqual(['upload: ok']);
  });
});

describe('terminal bar (TTY)', () => {
  it('draws a bar with the label and ends with the done line on its own row', () => {
    const out = sink(true);
    const p = createProgress({ label: 'upload', total: 2048, unit: 'bytes', stream: out.stream });
    p.update(1024);
    p.note('chunk 1 of 2');
    p.done('uploaded');
    const text = out.text();
    expect(text).toContain('upload  [');
    expect(text).toContain('1.0 KiB / 2.0 KiB (50%)');
    expect(text).toContain('chunk 1 of 2');
    expect(text.endsWith('upload: uploaded\n')).toBe(true);
  });
});
