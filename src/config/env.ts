/**
 * Environment expansion, the step between YAML parsing and validation. Every string value of
 * the parsed tree may contain `${NAME}` or `${NAME:-default}`, and `$${` writes a literal
 * `${`. Map keys are not expanded. Errors name the field and the variable, never the value.
 */
import { ConfigProblems, fieldPath, indexPath, isSecretField, showValue } from './problems.js';

/** The expanded tree and the paths of the fields whose value came from a reference. */
export interface ExpandedTree {
  readonly value: unknown;
  /**
   * Fields that contained a reference. Their values may be strings standing for numbers or
   * booleans (`port: ${PORT}`), which the validator converts.
   */
  readonly expandedPaths: ReadonlySet<string>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns a copy of `tree` with every reference replaced, reporting errors to `problems`. */
export function expandEnvironment(tree: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblems): ExpandedTree {
  const expandedPaths = new Set<string>();
  const value = expandNode(tree, '', env, problems, expandedPaths);
  return { value, expandedPaths };
}

function expandNode(node: unknown, path: string, env: NodeJS.ProcessEnv, problems: ConfigProblems, expanded: Set<string>): unknown {
  if (typeof node === 'string') {
    if (!node.includes('$')) return node;
    expanded.add(path);
    return expandString(node, path, env, problems);
  }
  if (Array.isArray(node)) {
    return node.map((item, i) => expandNode(item, indexPath(path, i), env, problems, expanded));
  }
  if (node !== null && typeof node === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) {
      copy[key] = expandNode(item, fieldPath(path, key), env, problems, expanded);
    }
    return copy;
  }
  return node;
}

/**
 * Expands one string. `${NAME:-default}` takes the default when NAME is unset or empty, as a
 * POSIX shell does. A default cannot contain `}`. A `$` that does not start `${` or `$${` is
 * kept as written.
 */
function expandString(text: string, path: string, env: NodeJS.ProcessEnv, problems: ConfigProblems): string {
  let result = '';
  let position = 0;
  while (position < text.length) {
    const dollar = text.indexOf('$', position);
    if (dollar === -1) {
      result += text.slice(position);
      break;
    }
    result += text.slice(position, dollar);

    if (text.startsWith('$${', dollar)) {
      result += '${';
      position = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      result += '$';
      position = dollar + 1;
      continue;
    }

    const close = text.indexOf('}', dollar + 2);
    const body = close === -1 ? '' : text.slice(dollar + 2, close);
    if (close === -1 || !isValidReference(body)) {
      reportMalformed(close === -1 ? text.slice(dollar) : text.slice(dollar, close + 1), path, problems);
      return '';
    }

    const replacement = resolveReference(body, path, env, problems);
    if (replacement === null) return '';
    result += replacement;
    position = close + 1;
  }
  return result;
}

/** Returns the value of a valid `NAME` or `NAME:-default` reference body, or null after an error. */
function resolveReference(body: string, path: string, env: NodeJS.ProcessEnv, problems: ConfigProblems): string | null {
  const separator = body.indexOf(':-');
  const name = separator === -1 ? body : body.slice(0, separator);
  const value = env[name];
  if (separator !== -1) return value ? value : body.slice(separator + 2);
  if (value !== undefined) return value;

  problems.addFinal(
    path,
    `environment variable ${name} is not set: set it, or give a default with \${${name}:-default}`,
  );
  return null;
}

function isValidReference(body: string): boolean {
  const separator = body.indexOf(':-');
  return NAME.test(separator === -1 ? body : body.slice(0, separator));
}

function reportMalformed(reference: string, path: string, problems: ConfigProblems): void {
  const referenceText = isSecretField(path) ? 'in <hidden>' : showValue(path, reference);
  problems.addFinal(
    path,
    `invalid environment reference ${referenceText}: expected \${NAME} or \${NAME:-default}; write $\${ for a literal \${`,
  );
}
