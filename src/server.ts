import { loadConfig, ConfigError, type Config } from './config.js'
import { createLogger } from './log.js'
import { startRuntime, type Role } from './runtime.js'

/**
 * Process entry for `ferry serve`: load config, start the runtime, listen, and shut down
 * gracefully on SIGTERM/SIGINT within FERRY_SHUTDOWN_GRACE_MS (src/runtime.ts: stop taking requests
 * and jobs, roll back in-flight ingests and pulls, close the database), exiting 1 if that overruns.
 */
export async function serve (role: Role): Promise<void> {
  const config = loadConfigOrExit()
  const logger = createLogger({ level: config.logLevel })
  const startedAt = Date.now()
  let runtime
  try {
    runtime = await startRuntime(config, { role, logger })
  } catch (err) {
    logger.fatal({ err }, 'ferry could not start')
    await new Promise(resolve => setTimeout(resolve, 50))
    process.exit(1)
  }
  if (runtime.app) {
    await runtime.app.listen({ port: config.port, host: config.host })
  }
  logger.info({ role, ms: Date.now() - startedAt, backend: runtime.deps.db.kind }, 'ferry is running')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down')
    // the last word: whatever still holds the process (a query that never returns, a stuck
    // socket) does not keep it alive past the grace period; unref'd, it never delays a clean exit
    const deadline = setTimeout(() => {
      logger.fatal({ graceMs: config.shutdownGraceMs }, 'graceful shutdown overran FERRY_SHUTDOWN_GRACE_MS; exiting')
      process.exit(1)
    }, config.shutdownGraceMs)
    deadline.unref()
    await runtime.stop()
    process.exit(0)
  }
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  process.on('SIGINT', () => { void shutdown('SIGINT') })
}

export function loadConfigOrExit (): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ferry: configuration error: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
