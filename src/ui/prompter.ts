// Questions to a person, through @inquirer/prompts. Only on a terminal: elsewhere a flag must answer.
import { InterruptedError, UsageError } from '../errors.ts';
import type { Output } from './output.ts';
import { messages } from './messages.ts';

export interface Choice<T> {
  value: T;
  name: string;
  description?: string;
  /** true, or the reason shown beside a choice that cannot be taken now. */
  disabled?: boolean | string;
}

export interface InputOptions {
  default?: string;
  /** Returns true, or the message to show until the answer is acceptable. */
  validate?: (value: string) => true | string;
}

/**
 * Every question throws UsageError with `whenNotInteractive` off a terminal (a script must pass a flag instead,
 * never hang) and InterruptedError on Ctrl-C (exit 130).
 */
export interface Prompter {
  /** Asks yes/no (default no). */
  confirm(message: string, whenNotInteractive: string, defaultAnswer?: boolean): Promise<boolean>;
  select<T>(message: string, choices: ReadonlyArray<Choice<T>>, whenNotInteractive: string): Promise<T>;
  input(message: string, options: InputOptions, whenNotInteractive: string): Promise<string>;
  /** Like input, with the answer masked. */
  password(message: string, options: InputOptions, whenNotInteractive: string): Promise<string>;
  /** Opens `text` in $VISUAL/$EDITOR at once and returns what was saved; an editor that fails saves nothing (exit 1). */
  editor(message: string, text: string, whenNotInteractive: string, postfix?: string): Promise<string>;
}

export function createPrompter(output: Output): Prompter {
  async function ask<T>(whenNotInteractive: string, question: (inquirer: typeof import('@inquirer/prompts')) => Promise<T>): Promise<T> {
    if (!output.interactive) throw new UsageError(whenNotInteractive);
    const inquirer = await import('@inquirer/prompts');
    try {
      return await question(inquirer);
    } catch (error) {
      if (error instanceof Error && error.name === 'ExitPromptError') throw new InterruptedError();
      throw error;
    }
  }
  const context = () => ({ output: process.stderr });
  return {
    confirm: (message, whenNotInteractive, defaultAnswer = false) =>
      ask(whenNotInteractive, ({ confirm }) => confirm({ message, default: defaultAnswer }, context())),
    select: (message, choices, whenNotInteractive) =>
      ask(whenNotInteractive, ({ select }) =>
        select({ message, choices: [...choices], theme: { indexMode: 'number' }, loop: false }, context()),
      ),
    input: (message, options, whenNotInteractive) =>
      ask(whenNotInteractive, ({ input }) =>
        input({ message, default: options.default, validate: options.validate }, context()),
      ),
    password: (message, options, whenNotInteractive) =>
      ask(whenNotInteractive, ({ password }) => password({ message, mask: '•', validate: options.validate }, context())),
    async editor(message, text, whenNotInteractive, postfix = '.txt') {
      if (!output.interactive) throw new UsageError(whenNotInteractive);
      output.say(message);
      const { chosenEditor, editText } = await import('./editor.ts');
      const editor = chosenEditor();
      if (!editor.chosenByPerson) output.say(messages.editor.fallback(editor.command));
      return editText(text, postfix);
    },
  };
}
