import 'reflect-metadata';

export type Class = new (...args: never[]) => unknown;

/** Every controller reachable from a Nest module, through every imported module (the OpenAPI document and specs walk them). */
export function controllersOf(module: Class, seen = new Set<Class>()): Class[] {
  if (seen.has(module)) return [];
  seen.add(module);
  const imports = (Reflect.getMetadata('imports', module) ?? []) as Class[];
  const own = (Reflect.getMetadata('controllers', module) ?? []) as Class[];
  return [...own, ...imports.filter((m) => typeof m === 'function').flatMap((m) => controllersOf(m, seen))];
}
