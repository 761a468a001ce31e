#!/usr/bin/env node
// `npx webhooks`: the operator CLI. The CLI is TypeScript run through tsx, like the rest of the
// checkout, so there is no build step between editing and running it.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run about Node versions it will drop in a future release; that
// multi-line notice would bury the CLI's one-line errors. WEBHOOKS_DEBUG=1 (or setting the
// variable yourself) shows it again.
if (process.env.WEBHOOKS_DEBUG !== '1')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { run } = await import('../cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
