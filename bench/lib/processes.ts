/**
 * Child processes of the benchmarks: servers started on loopback and stopped by their PID, and
 * the CPU time that Linux records for them in /proc. Every server that a benchmark starts is
 * registered here, so that an interrupted run still stops all of them.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** Clock ticks per second of the utime and stime fields in /proc/PID/stat (getconf CLK_TCK). */
export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A server process that a benchmark started. */
export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** File that receives the process's standard output and error. */
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

const running = new Set<Service>();

/**
 * Starts `command` with its output appended to `logFile`; `ipc` opens a Node.js IPC channel to
 * it. The process is stopped by `stopService`, or by `stopAllServices` when the benchmark ends
 * early.
 */
export function startService(name: string, command: string, args: readonly string[], logFile: string, options: { ipc?: boolean } = {}): Service {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: failed to start ${command}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const service: Service = { name, pid: child.pid, child, logFile, exited };
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/** Sends SIGTERM to the service's PID and waits for it to exit, with SIGKILL after `graceMs`. */
export async function stopService(service: Service, graceMs = 5000): Promise<void> {
  const child = service.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await service.exited;
  clearTimeout(timer);
}

/** Stops every service still running, newest first. */
export async function stopAllServices(): Promise<void> {
  for (const service of [...running].reverse()) await stopService(service);
}

/** Sends SIGKILL to every service still running; for process exit, where nothing can be awaited. */
export function killAllServicesNow(): void {
  for (const service of running) service.child.kill('SIGKILL');
}

/** Returns true when the service has exited. */
export function hasExited(service: Service): boolean {
  return service.child.exitCode !== null || service.child.signalCode !== null;
}

/** Fields of /proc/PID/stat after the command name, which may itself contain spaces. */
function statFields(pid: number): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** CPU time of a process, in clock ticks, split into user and system (kernel) time. */
export interface CpuTicks {
  user: number;
  system: number;
}

/** CPU time of one process (all its threads), in clock ticks; zero once it is gone. */
export function cpuTicks(pid: number): CpuTicks {
  const fields = statFields(pid);
  // After the name come state (field 3), ppid (4), ..., utime (14) and stime (15).
  return fields ? { user: Number(fields[11]), system: Number(fields[12]) } : { user: 0, system: 0 };
}

/** Finds the PIDs of every living descendant of `pid` through the parent PIDs in /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const parent = Number(fields[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(entry));
    children.set(parent, list);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** CPU ticks of a process and all its living descendants, such as cluster workers. */
export function treeCpuTicks(pid: number): CpuTicks {
  const total = cpuTicks(pid);
  for (const child of descendants(pid)) {
    const ticks = cpuTicks(child);
    total.user += ticks.user;
    total.system += ticks.system;
  }
  return total;
}

/**
 * CPU time of the children of this process that have exited and been waited for (cutime plus
 * cstime of /proc/self/stat), in clock ticks. Node.js waits for each child it spawned, so the
 * growth across one spawned run is that run's CPU time.
 */
export function exitedChildrenCpuTicks(): number {
  const fields = statFields(process.pid)!;
  // cutime and cstime are fields 16 and 17.
  return Number(fields[13]) + Number(fields[14]);
}

/** Busy and total CPU time of the whole machine, in clock ticks summed over all CPUs, from /proc/stat. */
export function machineCpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal ...; guest time is already part of user.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/** Reads the 1-minute load average from /proc/loadavg. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[0]);
}

/**
 * Runs `command` and returns its trimmed standard output, or its standard error when the
 * output is empty (nutcracker -V prints its version there), or null when it cannot run.
 */
export function outputOf(command: string, args: readonly string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) return null;
  return result.stdout.trim() || result.stderr.trim() || null;
}

/** Returns whether `command` is on the PATH (or, for an absolute path, exists). */
export function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$0"`, command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until `service` accepts TCP connections on 127.0.0.1:`port`. Throws, pointing at the
 * service's log, when it exits first or after `timeoutMs`.
 */
export async function waitForPort(service: Service, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (hasExited(service)) throw new Error(`${service.name} exited before listening on port ${port}; see ${service.logFile}`);
    if (Date.now() > deadline) throw new Error(`${service.name} does not listen on port ${port} after ${timeoutMs} ms; see ${service.logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
