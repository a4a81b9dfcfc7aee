import {templateReferences, type PathSegment} from './template.js';

/** A step as the plan sees it: its id, its argument template and the steps it waits for besides those it reads. */
export interface PlannedStep {
  id: string;
  arguments: unknown;
  after?: string[];
}

/** A problem of a composite's definition, at a path inside it (e.g. `steps.1.arguments.query`). */
export interface PlanIssue {
  path: PathSegment[];
  message: string;
}

/** The steps each step waits for (it reads their results, or names them in `after`), by step id. */
export type Dependencies = Map<string, string[]>;

/**
 * Plans a composite (pure): which steps each step waits for, from the references in its arguments and its `after`.
 * Steps that wait for none of each other run in parallel.
 * @returns the dependencies, and every problem with its path: a duplicate id, a reference to a step that does not
 *   exist or to the step itself, a reference that does not parse, a cycle; and references of `output` to unknown steps
 */
export function planComposite(
  steps: PlannedStep[],
  output?: unknown,
): {dependencies: Dependencies; issues: PlanIssue[]} {
  const issues: PlanIssue[] = [];
  const ids = new Set<string>();
  for (const [index, step] of steps.entries()) {
    if (ids.has(step.id)) issues.push({path: ['steps', index, 'id'], message: `step id "${step.id}" is used twice`});
    ids.add(step.id);
  }
  const dependencies: Dependencies = new Map();
  for (const [index, step] of steps.entries()) {
    const waits = new Set<string>();
    const {references, issues: unparsed} = templateReferences(step.arguments);
    for (const issue of unparsed)
      issues.push({path: ['steps', index, 'arguments', ...issue.at], message: issue.message});
    for (const {reference, source, at} of references) {
      if (reference.root !== 'step') continue;
      const path = ['steps', index, 'arguments', ...at];
      if (reference.step === step.id) issues.push({path, message: `{{${source}}}: a step cannot read its own result`});
      else if (!ids.has(reference.step))
        issues.push({path, message: `{{${source}}}: there is no step "${reference.step}"`});
      else waits.add(reference.step);
    }
    for (const [i, id] of (step.after ?? []).entries()) {
      if (id === step.id || !ids.has(id))
        issues.push({path: ['steps', index, 'after', i], message: `there is no other step "${id}" to wait for`});
      else waits.add(id);
    }
    dependencies.set(step.id, [...waits]);
  }
  const cycle = stepsInCycles(dependencies);
  if (cycle.length > 0) {
    const index = steps.findIndex((step) => step.id === cycle[0]);
    issues.push({
      path: ['steps', index],
      message: `steps ${cycle.map((id) => `"${id}"`).join(', ')} wait for each other`,
    });
  }
  if (output !== undefined) {
    const {references, issues: unparsed} = templateReferences(output);
    for (const issue of unparsed) issues.push({path: ['output', ...issue.at], message: issue.message});
    for (const {reference, source, at} of references) {
      if (reference.root === 'step' && !ids.has(reference.step))
        issues.push({path: ['output', ...at], message: `{{${source}}}: there is no step "${reference.step}"`});
    }
  }
  return {dependencies, issues};
}

/** The steps that can never start because they wait, directly or not, for themselves (Kahn's algorithm). */
function stepsInCycles(dependencies: Dependencies): string[] {
  const done = new Set<string>();
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const [id, waits] of dependencies) {
      if (!done.has(id) && waits.every((w) => done.has(w) || !dependencies.has(w))) {
        done.add(id);
        progressed = true;
      }
    }
  }
  return [...dependencies.keys()].filter((id) => !done.has(id));
}

/**
 * The steps that may start now (pure): not started yet, and every step they wait for has finished. In declaration
 * order.
 */
export function readySteps(
  dependencies: Dependencies,
  started: ReadonlySet<string>,
  finished: ReadonlySet<string>,
): string[] {
  return [...dependencies]
    .filter(([id, waits]) => !started.has(id) && waits.every((w) => finished.has(w)))
    .map(([id]) => id);
}
