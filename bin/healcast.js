#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (which `npm start` runs).
import '../dist/src/cli/entry.js';
