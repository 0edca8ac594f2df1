import { Command, InvalidArgumentError } from 'commander'
import { migrate } from './db/migrate.js'
import { openDb } from './db/client.js'
import { loadConfigOrExit, serve } from './server.js'
import type { Role } from './runtime.js'

const program = new Command()
  .name('ferry')
  .description('Moves inventory files in and mapping-job results out for agents.')

program.command('serve')
  .description('run the API, the scheduler and the workers')
  .option('--role <role>', 'api | worker | all', (value: string) => {
    if (!['api', 'worker', 'all'].includes(value)) throw new InvalidArgumentError('expected api, worker or all')
    return value
  }, 'all')
  .action(async (options: { role: Role }) => { await serve(options.role) })

program.command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const config = loadConfigOrExit()
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
    try {
      const { applied } = await migrate(db)
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
    } finally {
      await db.close()
    }
  })

await program.parseAsync(process.argv)
