/**
 * Strings that PostgreSQL cannot store. jsonb (and text) refuse the NUL character (`\u0000`:
 * 22P05 "unsupported Unicode escape sequence", or 22021 in a text column) and UTF-16 surrogates
 * that are not part of a pair (`\ud800` alone: 22P02 "invalid input syntax for type json"). A value
 * holding either would be accepted, decided on, and then never recorded; so it is refused first,
 * with the path of the field (`members.3.name`) and the reason. Object keys are checked too.
 * Pure and deterministic: the API and the workflow's Update validators call it alike.
 */
import { DomainError, type DomainIssue } from './errors';

export type UnstorableString = DomainIssue;

/** Fast path: most strings hold neither a NUL nor any surrogate code unit. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const SUSPECT = /[\u0000\ud800-\udfff]/;

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why PostgreSQL would refuse this string, or undefined when it can be stored. */
export function unstorableReason(value: string): string | undefined {
  if (!SUSPECT.test(value)) return undefined;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code === 0) return 'contains a NUL character (U+0000)';
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1; // a well-formed pair
        continue;
      }
      return `contains an unpaired surrogate (${hex(code)})`;
    }
    if (code >= 0xdc00 && code <= 0xdfff) return `contains an unpaired surrogate (${hex(code)})`;
  }
  return undefined;
}

/**
 * Text the system writes itself (an error message in a grant's end reason) made storable: NUL and
 * unpaired surrogates become U+FFFD. People's input is refused instead; this is for our own words,
 * whose fact must be recorded whatever they hold.
 */
export function mendUnstorable(value: string): string {
  if (!SUSPECT.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += value[i] + value[i + 1];
      i += 1;
    } else out += code === 0 || (code >= 0xd800 && code <= 0xdfff) ? '\ufffd' : value[i];
  }
  return out;
}

/** A path segment as people can read it: an unstorable key is shown escaped (`a\u0000b`). */
function segment(key: string): string {
  if (unstorableReason(key) === undefined) return key;
  let out = '';
  for (let i = 0; i < key.length; i += 1) {
    const code = key.charCodeAt(i);
    out += code === 0 || (code >= 0xd800 && code <= 0xdfff) ? `\\u${code.toString(16).padStart(4, '0')}` : key[i];
  }
  return out;
}

const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${typeof key === 'number' ? key : segment(key)}`);

/**
 * Every unstorable string in a JSON-like value (strings, arrays, plain objects and their keys), in
 * document order, each with its dotted path from `root` ('' for the value itself) and a reason.
 * `first: true` stops at the first one.
 */
export function findUnstorable(value: unknown, options: { root?: string; first?: boolean } = {}): UnstorableString[] {
  const found: UnstorableString[] = [];
  const seen = new Set<object>();
  const visit = (node: unknown, path: string): boolean => {
    if (typeof node === 'string') {
      const reason = unstorableReason(node);
      if (reason) found.push({ field: path, reason });
      return !(options.first && found.length > 0);
    }
    if (node === null || typeof node !== 'object' || seen.has(node)) return true;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i += 1) if (!visit(node[i], join(path, i))) return false;
      return true;
    }
    for (const key of Object.keys(node)) {
      const reason = unstorableReason(key);
      if (reason) {
        found.push({ field: join(path, key), reason: `its key ${reason}` });
        if (options.first) return false;
      }
      if (!visit((node as Record<string, unknown>)[key], join(path, key))) return false;
    }
    return true;
  };
  visit(value, options.root ?? '');
  return found;
}

/** The first unstorable string in a value, or undefined. */
export function firstUnstorable(value: unknown, root = ''): UnstorableString | undefined {
  return findUnstorable(value, { root, first: true })[0];
}

/**
 * Refuses a command whose data (or actor) holds a string PostgreSQL cannot store:
 * `DomainError('validation_failed', reason, field)` naming the first, with every one in `issues`.
 * Data fields are named as in the request body (`title`, `members.3.name`); the actor's as `actor.subject`.
 */
export function assertStorableCommand(command: { actor?: unknown; data?: unknown }): void {
  const issues = [...findUnstorable(command.actor, { root: 'actor' }), ...findUnstorable(command.data)];
  if (issues.length === 0) return;
  throw new DomainError('validation_failed', issues[0].reason, issues[0].field || 'data', issues);
}
