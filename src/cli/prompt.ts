/**
 * Reading a secret from a terminal without echo: the terminal goes into raw mode, so each key
 * arrives as typed and nothing is printed back. Raw mode is always restored before returning.
 */
import type { CliInput } from './io.js';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = '\u0008';
const DELETE = '\u007f';

/**
 * Prints `prompt` to `output` and reads one line from the terminal `input` without echo.
 * Returns undefined when the user presses Ctrl-C.
 */
export function readHiddenLine(input: CliInput, output: NodeJS.WritableStream, prompt: string): Promise<string | undefined> {
  output.write(prompt);
  input.setRawMode?.(true);
  input.setEncoding('utf8');

  return new Promise((resolve) => {
    // Code points, so that Backspace removes a whole character even outside ASCII.
    const typed: string[] = [];
    const finish = (line: string | undefined): void => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      resolve(line);
    };
    const onData = (chunk: string): void => {
      for (const key of chunk) {
        if (key === '\r' || key === '\n' || (key === CTRL_D && typed.length === 0)) return finish(typed.join(''));
        if (key === CTRL_C) return finish(undefined);
        if (key === BACKSPACE || key === DELETE) typed.pop();
        else if (key !== CTRL_D) typed.push(key);
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
