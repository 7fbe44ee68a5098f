// Questions to a person, through @inquirer/prompts. Only on a terminal: elsewhere a flag must answer.
import { InterruptedError, UsageError } from '../errors.ts';
import type { Output } from './output.ts';

export interface Prompter {
  /** Asks yes/no; throws UsageError with `whenNotInteractive` off a terminal, InterruptedError on Ctrl-C. */
  confirm(message: string, whenNotInteractive: string): Promise<boolean>;
}

export function createPrompter(output: Output): Prompter {
  return {
    async confirm(message, whenNotInteractive) {
      if (!output.interactive) throw new UsageError(whenNotInteractive);
      const { confirm } = await import('@inquirer/prompts');
      try {
        return await confirm({ message, default: false }, { output: process.stderr });
      } catch (error) {
        if (error instanceof Error && error.name === 'ExitPromptError') throw new InterruptedError();
        throw error;
      }
    },
  };
}
