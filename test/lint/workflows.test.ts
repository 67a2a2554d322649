/**
 * The GitHub Actions workflows cannot run here, so they are checked here: parsed and converted by
 * GitHub's own workflow parser (schema, expressions, job graph), and every `run:` step must be a
 * command of the project (`bash .ci/run` or an npm script that exists), so CI and the developer
 * machines run the same things.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', '.github', 'workflows');
const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
const scripts = Object.keys((JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** The commands a `run:` step may use. */
function allowedCommand(command: string): boolean {
  if (command === 'bash .ci/run') return true;
  if (/^npm ci( --no-audit| --no-fund)*$/.test(command)) return true;
  const script = /^npm run ([\w:-]+)$/.exec(command);
  return script !== null && scripts.includes(script[1]!);
}

describe('GitHub Actions workflows', () => {
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s is valid for GitHub and runs only project commands', async (name) => {
    const content = readFileSync(join(dir, name), 'utf8');
    const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const workflow = await convertWorkflowTemplate(parsed.context, parsed.value!);
    expect(workflow.errors ?? []).toEqual([]);
    const runs = workflow.jobs.flatMap((job) => ('steps' in job ? job.steps : [])).flatMap((step) => ('run' in step ? [String(step.run)] : []));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(allowedCommand(run.trim()), run).toBe(true);
  });
});
