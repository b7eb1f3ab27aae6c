/**
 * Recursive traversal of an Amazon States Language definition: top-level States, every Parallel
 * branch, and every Map ItemProcessor (or the legacy Iterator). Used both to refuse features the
 * local interpreter ignores and to register per-state-name overrides.
 */
import { isPlainObject } from './json.js';

export interface VisitedState {
  /** The state's name (its key in the enclosing `States` object). */
  readonly name: string;
  /** The raw state object. */
  readonly state: Readonly<Record<string, unknown>>;
  /** Human-readable location, e.g. `States.Fan.ItemProcessor.States.Work`. */
  readonly path: string;
  /** `Type` of the state, or '' when missing. */
  readonly type: string;
}

/** Calls `visit` for every state of `definition`, depth-first, including nested sub-machines. */
export function walkStates(definition: unknown, visit: (s: VisitedState) => void, basePath = ''): void {
  if (!isPlainObject(definition)) return;
  const states = definition['States'];
  if (!isPlainObject(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isPlainObject(state)) continue;
    const path = `${basePath}States.${name}`;
    const type = typeof state['Type'] === 'string' ? state['Type'] : '';
    visit({ name, state, path, type });
    if (type === 'Parallel' && Array.isArray(state['Branches'])) {
      state['Branches'].forEach((branch, i) => walkStates(branch, visit, `${path}.Branches[${i}].`));
    }
    if (type === 'Map') {
      if (state['ItemProcessor'] !== undefined) walkStates(state['ItemProcessor'], visit, `${path}.ItemProcessor.`);
      if (state['Iterator'] !== undefined) walkStates(state['Iterator'], visit, `${path}.Iterator.`);
    }
  }
}

/** Every sub-machine (the definition itself, Parallel branches, Map processors), depth-first. */
export function walkSubMachines(definition: unknown, visit: (machine: Record<string, unknown>, path: string) => void, basePath = '$'): void {
  if (!isPlainObject(definition)) return;
  visit(definition, basePath);
  walkStates(
    definition,
    ({ state, type, path }) => {
      // walkStates already recurses; only visit the direct children here to avoid double visits.
      if (type === 'Parallel' && Array.isArray(state['Branches'])) {
        state['Branches'].forEach((b, i) => {
          if (isPlainObject(b)) visit(b, `${path}.Branches[${i}]`);
        });
      }
      if (type === 'Map') {
        const proc = state['ItemProcessor'] ?? state['Iterator'];
        if (isPlainObject(proc)) visit(proc, `${path}.${state['ItemProcessor'] !== undefined ? 'ItemProcessor' : 'Iterator'}`);
      }
    },
    '',
  );
}
