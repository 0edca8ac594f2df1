#!/usr/bin/env node
// Runs the compiled CLI; `npm start` / `npm run build` produce dist/.
import '../dist/cli.js'
