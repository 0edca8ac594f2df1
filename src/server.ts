import { loadConfig, ConfigError, type Config } from './config.js'
import { createLogger } from './log.js'
import { startRuntime, type Role } from './runtime.js'

/**
 * Process entry for `ferry serve`: load config, start the runtime, listen, and shut down
 * gracefully on SIGTERM/SIGINT (stop taking requests and jobs, finish or release in-flight ones,
 * close the database).
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
    logger.info({ signal }, 'shutting down')
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
