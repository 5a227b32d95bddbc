/**
 * What the numbers were measured on, and how busy the machine was meanwhile.
 *
 * Busy-ness is measured, not guessed: `CpuMeter` reads the whole machine's CPU time from
 * /proc/stat and this process's own (plus its reaped children's) from /proc/self/stat, so
 * "other processes used X% of the CPUs during this suite" excludes the bench and the servers
 * it started. Children must have exited (and been reaped) before `stop()` for their time
 * to count as ours; every suite stops its servers before its meter stops.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { GiB } from './stats.js';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs this process may use. */
  cores: number;
  ramBytes: number;
  node: string;
  kernel: string;
  /** ISO timestamp of the start of the run. */
  date: string;
  /** 1, 5 and 15-minute load averages when the run started. */
  loadAtStart: [number, number, number];
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^model name\s*:/.test(l));
    if (line) return line.replace(/^model name\s*:\s*/, '').trim();
  } catch {
    // not Linux: fall through
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return {
    cpuModel: cpuModel(),
    cores: os.availableParallelism(),
    ramBytes: os.totalmem(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    loadAtStart: [a, b, c],
  };
}

export const loadAverage = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

export function describeMachine(m: MachineInfo): string[][] {
  return [
    ['CPU', m.cpuModel],
    ['cores', String(m.cores)],
    ['RAM', `${(m.ramBytes / GiB).toFixed(1)} GiB`],
    ['Node.js', m.node],
    ['kernel', m.kernel],
    ['date', m.date],
    ['load average at start (1, 5, 15 min)', m.loadAtStart.map((x) => x.toFixed(2)).join(', ')],
  ];
}

// ---- CPU accounting ------------------------------------------------------------------------

interface Snapshot {
  at: number;
  /** Whole machine, clock ticks. */
  busy: number;
  /** This process + reaped children, clock ticks. */
  ours: number;
}

/** Clock ticks per second of /proc/*stat: USER_HZ, 100 on every Linux build that matters. */
const HZ = 100;

function machineBusyTicks(): number | undefined {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return user + nice + system + irq + softirq + steal;
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses): [0] is field 3 (state). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime + cutime + cstime of this process, clock ticks. */
function ownTicks(): number | undefined {
  try {
    const rest = statFields('self');
    // utime is field 14 → rest[11] … cstime field 17 → rest[14]
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** CPU-seconds another process (a server the bench started) has used so far, all its threads: utime + stime. */
export function processCpuSeconds(pid: number): number {
  const rest = statFields(pid);
  return (Number(rest[11]) + Number(rest[12])) / HZ;
}

function snapshot(): Snapshot | undefined {
  const busy = machineBusyTicks();
  const ours = ownTicks();
  return busy === undefined || ours === undefined ? undefined : { at: performance.now(), busy, ours };
}

export interface CpuShare {
  wallSeconds: number;
  /** CPU-seconds used by the bench and the processes it started (and waited for). */
  oursSeconds: number;
  /** CPU-seconds used by everything else on the machine. */
  othersSeconds: number;
  /** othersSeconds as a share of all cores over the wall time, 0..1. */
  othersShare: number;
}

export class CpuMeter {
  private readonly start = snapshot();

  stop(): CpuShare | undefined {
    const end = snapshot();
    if (!this.start || !end) return undefined;
    const wallSeconds = (end.at - this.start.at) / 1000;
    const busy = (end.busy - this.start.busy) / HZ;
    const oursSeconds = (end.ours - this.start.ours) / HZ;
    const othersSeconds = Math.max(0, busy - oursSeconds);
    return {
      wallSeconds,
      oursSeconds,
      othersSeconds,
      othersShare: wallSeconds > 0 ? othersSeconds / (wallSeconds * os.availableParallelism()) : 0,
    };
  }
}

/** How busy the rest of the machine is right now, sampled over `ms` while this process idles. */
export async function sampleOthers(ms = 2000): Promise<CpuShare | undefined> {
  const meter = new CpuMeter();
  await sleep(ms);
  return meter.stop();
}

export const describeShare = (s: CpuShare | undefined): string =>
  s === undefined
    ? 'not measured (no /proc)'
    : `${(s.othersShare * 100).toFixed(0)}% of all cores (${s.othersSeconds.toFixed(1)} CPU-s in ${s.wallSeconds.toFixed(1)} s; the bench and its servers used ${s.oursSeconds.toFixed(1)} CPU-s)`;
