#!/usr/bin/env node
// The `axptr` command: the CLI bundled into one file (npm ci builds it through the prepare script;
// one module loads in a third of the time the compiled tree's sixty take).
import('../dist/cli/axptr.mjs');
