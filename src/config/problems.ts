/**
 * Collects configuration errors so that one load reports all of them, one line each, in the
 * form `FILE: FIELD.PATH: what is wrong: the fix`. Values of secret fields never reach a
 * message: they print as `<hidden>`.
 */
import { RespguardError } from '../errors.js';

/**
 * Field names whose values are secrets. `acl` is among them because a rule string may contain a
 * plain-text password (`>secret`).
 */
const SECRET_FIELDS = new Set(['password', 'acl']);

const MAX_SHOWN_LENGTH = 80;

/** The error list of one config file. */
export class ConfigProblems {
  readonly messages: string[] = [];
  /** Fields already reported, for example by the environment expansion, that get no second message. */
  private readonly reported = new Set<string>();

  constructor(readonly file: string) {}

  /** Adds `FILE: path: text`; with an empty path, `FILE: text`. */
  add(path: string, text: string): void {
    if (this.reported.has(path)) return;
    this.messages.push(path === '' ? `${this.file}: ${text}` : `${this.file}: ${path}: ${text}`);
  }

  /** Adds `invalid value "…": expected …`, with the value hidden for secret fields. */
  invalid(path: string, value: unknown, expected: string): void {
    this.add(path, `invalid value ${showValue(path, value)}: expected ${expected}`);
  }

  /** Adds `missing value: expected …` for a required field. */
  missing(path: string, expected: string): void {
    this.add(path, `missing value: expected ${expected}`);
  }

  /** Adds an error and silences later ones on the same field. */
  addFinal(path: string, text: string): void {
    this.add(path, text);
    this.reported.add(path);
  }

  /** Throws one RespguardError('RG_ERR_CONFIG') listing every error, if there is any. */
  throwIfAny(): void {
    if (this.messages.length > 0) throw new RespguardError('RG_ERR_CONFIG', this.messages.join('\n'));
  }
}

/** Appends a map key to a field path: `upstream` + `port` = `upstream.port`. */
export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** Appends a list index to a field path: `listeners` + 1 = `listeners[1]`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Tests whether the field at `path` contains a secret. */
export function isSecretField(path: string): boolean {
  const last = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  return SECRET_FIELDS.has(last.toLowerCase());
}

/**
 * Formats a value for a message: scalars in double quotes (`"70000"`), lists and maps as
 * short JSON, absent values as `null`. Long values are cut at 80 characters.
 */
export function showValue(path: string, value: unknown): string {
  if (isSecretField(path)) return '<hidden>';
  if (value === null || value === undefined) return 'null';

  const text = typeof value === 'object' ? JSON.stringify(value) : JSON.stringify(String(value));
  return text.length > MAX_SHOWN_LENGTH ? `${text.slice(0, MAX_SHOWN_LENGTH - 3)}...` : text;
}
