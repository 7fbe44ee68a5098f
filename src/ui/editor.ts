// The person's own editor ($VISUAL, else $EDITOR, else vi) on a private temporary file. An editor that exits
// non-zero (vim's :cq) or is killed means "abandon": nothing it left behind is taken.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitCode, GisbotError } from '../errors.ts';
import { messages } from './messages.ts';

/** The editor a person gets: theirs, or (named, so they know how to leave it and choose another) the system's. */
export function chosenEditor(env: NodeJS.ProcessEnv = process.env): { command: string; chosenByPerson: boolean } {
  const own = env.VISUAL || env.EDITOR;
  return own ? { command: own, chosenByPerson: true } : { command: process.platform === 'win32' ? 'notepad' : 'vi', chosenByPerson: false };
}

export async function editText(text: string, postfix: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const editor = chosenEditor(env).command;
  // mkdtemp makes the folder 0700: a draft or a prompt is nobody else's business while it is being edited.
  const folder = await mkdtemp(path.join(tmpdir(), 'gisbot-edit-'));
  const file = path.join(folder, `edit${postfix}`);
  try {
    await writeFile(file, text, { mode: 0o600 });
    const ended = await runEditor(editor, file, env);
    if (ended !== 0) throw new GisbotError(messages.editor.abandoned(ended), ExitCode.failed);
    return await readFile(file, 'utf8');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The editor's exit status, or the signal that ended it. Like git, through the shell: `VISUAL="code --wait"` works. */
function runEditor(editor: string, file: string, env: NodeJS.ProcessEnv): Promise<number | NodeJS.Signals> {
  const child =
    process.platform === 'win32'
      ? spawn(`${editor} "${file}"`, { shell: true, stdio: 'inherit', env })
      : spawn('/bin/sh', ['-c', `${editor} "$@"`, editor, file], { stdio: 'inherit', env });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(signal ?? code ?? 1));
  });
}
