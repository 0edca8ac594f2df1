import { Command, InvalidArgumentError } from 'commander'
import { migrate } from './db/migrate.js'
import { openDb } from './db/open.js'
import type { Role } from './runtime.js'
import { relaunchWithHeapFlags } from './heap.js'
// the server's modules load only for the commands that need them: the client commands start fast
import { registerClientCommands } from './cli/commands.js'

const program = new Command()
  .name('ferry')
  .description('Moves inventory files in and mapping-job results out for agents.')

program.command('serve')
  .description('run the API, the scheduler and the workers')
  .option('--role <role>', 'api | worker | all', (value: string) => {
    if (!['api', 'worker', 'all'].includes(value)) throw new InvalidArgumentError('expected api, worker or all')
    return value
  }, 'all')
  .action(async (options: { role: Role }) => {
    // before the server's modules load: a server process runs with Ferry's heap settings (src/heap.ts)
    relaunchWithHeapFlags()
    const { serve } = await import('./server.js')
    await serve(options.role)
  })

program.command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const { loadConfigOrExit } = await import('./server.js')
    const config = loadConfigOrExit()
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
    try {
      const { applied } = await migrate(db)
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
    } finally {
      await db.close()
    }
  })

program.command('vault').description('vault maintenance')
  .command('rotate-master-key')
  .description('re-wrap every data key under a new master key (stop every Ferry process first; see docs/security.md)')
  .option('--new-key-file <file>', 'the new key (base64 of 32 bytes); default: FERRY_NEW_MASTER_KEY, else a generated key')
  .option('--out <file>', 'with FERRY_MASTER_KEY set: a new file that receives the new key')
  .action(async (options: { newKeyFile?: string, out?: string }) => {
    const { loadConfigOrExit } = await import('./server.js')
    const config = loadConfigOrExit()
    const { runRotateMasterKey } = await import('./vault/cli.js')
    process.exitCode = await runRotateMasterKey(config, options)
  })

program.command('admin-key').description('the instance-admin API key')
  .command('reset')
  .description('replace the instance-admin key with a new one, printed once and saved to $FERRY_DATA_DIR/admin-api-key (run where the database is reachable)')
  .action(async () => {
    const { loadConfigOrExit } = await import('./server.js')
    const config = loadConfigOrExit()
    const { resetInstanceAdminKey } = await import('./auth/api-keys.js')
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
    try {
      await migrate(db)
      await resetInstanceAdminKey(db, { dataDir: config.dataDir, print: line => process.stderr.write(line + '\n') })
    } finally {
      await db.close()
    }
  })

registerClientCommands(program)

await program.parseAsync(process.argv)
