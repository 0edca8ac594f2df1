/**
 * The V8 heap settings of a Ferry server process (docs/decisions.md "Memory of a pull").
 *
 * Node sizes V8's heap from the machine's memory: on a 16–32 GiB host the young generation grows to
 * 128 MiB under the sustained allocation of a long pull, and old space is allowed to grow about 4×
 * between full collections, so a pull whose live data is a few tens of MiB peaks at 350–700 MiB of
 * RSS, mostly garbage not yet collected. These settings keep the young generation small and make
 * old space collect again once it has grown by a quarter. They are not a hard cap (no
 * --max-old-space-size): a file that really needs more memory still gets it instead of crashing
 * the process.
 *
 * The young generation's size is fixed when V8 starts, so the settings are command-line flags, and
 * a process started without them restarts itself with them (same pid). This module imports nothing
 * but Node: it runs before the server's modules load.
 */
export const HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=25']

/** The flag's name without its value, `_` as `-` (V8 accepts both spellings). */
function flagName (arg: string): string {
  return arg.split('=')[0].replace(/_/g, '-')
}

/**
 * The HEAP_FLAGS this process was not started with. A flag the operator set (on the command line or
 * in NODE_OPTIONS, to any value) counts as given: their value wins.
 */
export function missingHeapFlags (execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter(a => a.startsWith('--')).map(flagName))
  return HEAP_FLAGS.filter(flag => !given.has(flagName(flag)))
}

/**
 * Replaces this process with the same command plus the missing HEAP_FLAGS (process.execve keeps
 * the pid, stdio and environment, so supervisors and signals see one process). Call it before
 * anything opens a connection. Where process.execve does not exist (Windows) the process goes on
 * with Node's defaults.
 */
export function relaunchWithHeapFlags (): void {
  const missing = missingHeapFlags(process.execArgv, process.env.NODE_OPTIONS)
  if (missing.length === 0 || typeof process.execve !== 'function') return
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], process.env)
}
