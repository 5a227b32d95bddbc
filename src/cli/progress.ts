/**
 * Progress reporting for long CLI steps (uploads, model loading). On a terminal it is a live
 * cli-progress bar (human-readable bytes, rate, ETA; a spinner when the total is unknown);
 * anywhere else (a pipe, a CI log, a file) it writes a plain line at most once a second and
 * one at the end, because carriage-return redraws turn logs into noise.
 *
 * `note()` is the step's current activity: on a terminal it is shown at the end of the bar
 * line and replaced by the next note; in plain mode it is written as its own line at once.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  note(message: string): void;
  done(message?: string): void;
  fail(message?: string): void;
}

export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: 'bytes' | 'items';
  stream?: NodeJS.WriteStream;
}

const KiB = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= KiB && i < UNITS.length - 1) {
    v /= KiB;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${UNITS[i]}`;
}

/** Seconds as "4s", "2m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Elapsed time for done lines: tenths under a minute ("6.2 s"), else formatDuration. */
function formatElapsed(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms / 1000);
}

/** The numbers of one moment, shared by the bar and the plain lines so both say the same. */
function describe(done: number, total: number | undefined, unit: 'bytes' | 'items', elapsedMs: number): string {
  const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : String(n));
  const parts: string[] = [];
  if (total !== undefined && total > 0) {
    const pct = Math.min(100, Math.floor((done / total) * 100));
    parts.push(`${amount(done)} / ${amount(total)} (${pct}%)`);
  } else if (done > 0) {
    parts.push(amount(done));
  }
  const seconds = elapsedMs / 1000;
  // A rate from the first few milliseconds is noise; wait for a quarter second of data.
  if (done > 0 && seconds >= 0.25) {
    const rate = done / seconds;
    parts.push(unit === 'bytes' ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)}/s`);
    if (total !== undefined && total > done) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
  }
  return parts.join(', ');
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? createBarProgress({ ...opts, stream }) : createLineProgress({ ...opts, stream });
}

/**
 * Plain-line progress: an update is written only when a second has passed since the last
 * line (so a short step writes just its end line), notes at once, and done/fail always.
 * `now` is the clock, injectable so tests need not sleep.
 */
export function createLineProgress(
  opts: ProgressOptions & { stream: NodeJS.WritableStream },
  now: () => number = Date.now,
  intervalMs = 1000,
): Progress {
  const unit = opts.unit ?? 'items';
  const started = now();
  let lastLine = started;
  let done = 0;
  let total = opts.total;
  let finished = false;
  const write = (text: string) => opts.stream.write(`${opts.label}: ${text}\n`);
  const finish = (text: string) => {
    if (finished) return;
    finished = true;
    write(text);
  };
  return {
    update(value, newTotal) {
      if (finished) return;
      done = value;
      if (newTotal !== undefined) total = newTotal;
      const t = now();
      if (t - lastLine < intervalMs) return;
      lastLine = t;
      write(describe(done, total, unit, t - started));
    },
    note(message) {
      if (finished) return;
      lastLine = now();
      write(message);
    },
    done(message) {
      const elapsed = now() - started;
      const summary = describe(done, total, unit, elapsed);
      finish(message ?? `done${summary ? `, ${summary}` : ''} in ${formatElapsed(elapsed)}`);
    },
    fail(message) {
      finish(`failed${message ? `: ${message}` : ''}`);
    },
  };
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;

/** The live terminal bar. Rate and ETA are computed here from our own start time, like the plain lines. */
function createBarProgress(opts: ProgressOptions & { stream: NodeJS.WriteStream }): Progress {
  const unit = opts.unit ?? 'items';
  const started = Date.now();
  let total = opts.total;
  let done = 0;
  let status = '';
  let finished = false;
  const bar = new cliProgress.SingleBar({
    stream: opts.stream,
    hideCursor: true,
    clearOnComplete: true,
    // Redraw on every tick even when the value is unchanged, so the spinner and the elapsed time move.
    forceRedraw: true,
    fps: 10,
    linewrap: null,
    format: () => {
      const elapsed = Date.now() - started;
      const figures = describe(done, total, unit, elapsed);
      const head =
        total !== undefined && total > 0
          ? `[${'█'.repeat(Math.round(Math.min(1, done / total) * BAR_WIDTH)).padEnd(BAR_WIDTH, '░')}]`
          : `${SPINNER[Math.floor(elapsed / 100) % SPINNER.length]} ${formatElapsed(elapsed)}`;
      return [opts.label, head, figures, status].filter(Boolean).join('  ');
    },
  });
  bar.start(total ?? 0, 0);
  const finish = (line: string) => {
    if (finished) return;
    finished = true;
    bar.stop();
    opts.stream.write(`${opts.label}: ${line}\n`);
  };
  return {
    update(value, newTotal) {
      if (finished) return;
      done = value;
      if (newTotal !== undefined) {
        total = newTotal;
        bar.setTotal(newTotal);
      }
      bar.update(value);
    },
    note(message) {
      if (finished) return;
      status = message;
      bar.render();
    },
    done(message) {
      const elapsed = Date.now() - started;
      const summary = describe(done, total, unit, elapsed);
      finish(message ?? `done${summary ? `, ${summary}` : ''} in ${formatElapsed(elapsed)}`);
    },
    fail(message) {
      finish(`failed${message ? `: ${message}` : ''}`);
    },
  };
}
