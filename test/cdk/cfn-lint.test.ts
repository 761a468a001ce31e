/**
 * cfn-lint over the synthesized template. cfn-lint is a Python tool (`pip install cfn-lint`);
 * when it is missing this test fails and says so rather than skipping, so CI cannot go green
 * without it. Checks are ignored only in the template itself, per resource, with a reason next
 * to the code that adds the ignore (see `ignoreRedundantRoleDependency`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from './stack-fixture.ts';

describe('cfn-lint', () => {
  let outdir: string;
  let templatePath: string;

  // Prepare: synthesize the real thing, bundles included, to a temporary cloud assembly.
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'webhooks-cfn-lint-'));
    const { app, stack } = synthesize({ outdir });
    const assembly = app.synth();
    templatePath = join(assembly.directory, assembly.getStackArtifact(stack.artifactId).templateFile);
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('finds nothing in the template', () => {
    // Act
    const run = spawnSync('cfn-lint', ['--format', 'parseable', '--', templatePath], { encoding: 'utf8' });

    // Assess
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      expect.fail('cfn-lint is not on PATH: install it with `pip install cfn-lint` (this test never skips)');
    }
    expect(run.error).toBeUndefined();
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });
});
