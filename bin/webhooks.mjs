#!/usr/bin/env node
// `npx webhooks`: the operator CLI. The CLI is TypeScript run through tsx, like the rest of the
// checkout, so there is no build step between editing and running it.
import { register } from 'tsx/esm/api';

// Node 22 is the baseline (package.json engines), and on it the AWS SDK has nothing to warn
// about. On an older Node the SDK warns on every run, in several lines that would bury the
// CLI's one-line errors, so there it stays quiet unless WEBHOOKS_DEBUG=1 (or the variable is
// already set).
if (Number(process.versions.node.split('.')[0]) < 22 && process.env.WEBHOOKS_DEBUG !== '1')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { run } = await import('../cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
