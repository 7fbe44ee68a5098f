// Runs a program to its end and collects what it printed: the one way tests spawn a process and wait for it.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Killed with SIGKILL after this long; default 60 s. */
  timeoutMs?: number;
}

export function runProcess(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return startProcess(file, args, options).done;
}

/** The same, for a test that signals the process while it runs: `done` settles when it has ended. */
export function startProcess(file: string, args: readonly string[], options: RunOptions): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<RunResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}
