/**
 * A Vitest reporter that keeps, in the file named by `DEADDROP_INFLIGHT_FILE`, the test files that
 * started and have not finished yet (one `project path` per line). scripts/run-vitest.mjs prints that
 * list when a run stops producing output, so a stall names its file instead of leaving a silent CI log.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class InflightReporter implements Reporter {
  private readonly running = new Map<string, string>();
  private readonly file = process.env.DEADDROP_INFLIGHT_FILE;

  onTestModuleStart(module: TestModule): void {
    this.running.set(module.moduleId, `${module.project.name} ${path.relative(process.cwd(), module.moduleId)} (started ${new Date().toISOString()})`);
    this.write();
  }

  onTestModuleEnd(module: TestModule): void {
    this.running.delete(module.moduleId);
    this.write();
  }

  private write(): void {
    if (!this.file) return;
    try {
      writeFileSync(this.file, [...this.running.values()].join('\n'));
    } catch {
      // Diagnostics only: a full disk must not fail the run.
    }
  }
}
