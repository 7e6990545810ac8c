#!/usr/bin/env node
// The `axptr` command: the compiled CLI (npm ci builds it through the prepare script).
import('../dist/cli/main.js');
