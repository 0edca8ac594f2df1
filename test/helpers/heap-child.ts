/**
 * Starts the way `ferry serve` starts (src/heap.ts) and prints {pid, execArgv, args} as JSON:
 * test/unit/heap.test.ts checks that the process restarted itself, same pid, with the heap flags.
 */
import { relaunchWithHeapFlags } from '../../src/heap.js'

relaunchWithHeapFlags()
console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2) }))
