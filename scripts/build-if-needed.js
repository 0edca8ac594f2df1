// `npm start` builds only when dist/ (server and web UI) is missing or older than a source file.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const newest = (dir) => fs.readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter(e => e.isFile())
  .reduce((max, e) => Math.max(max, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0)

const complete = ['dist/cli.js', 'dist/web/index.html'].every(f => fs.existsSync(path.join(root, f)))
const built = complete ? newest(path.join(root, 'dist')) : 0
if (built < Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'web')))) {
  process.stderr.write('building ferry…\n')
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
}
