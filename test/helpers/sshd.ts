import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/**
 * A real OpenSSH server for the SFTP tests: Debian's `openssh-server` (.ci/run installs it), started
 * as `/usr/sbin/sshd -D -e -f <config>` on a free loopback port with its own host key, its own
 * authorized_keys file and `Subsystem sftp internal-sftp`. No systemd, no port 22: the system's
 * sshd (if the package started one) is never used.
 *
 * sshd authenticates system users, and only root may run an sshd that logs other users in, so the
 * helper needs root (the machine and CI run as root). It logs in a dedicated, unprivileged user
 * `ferrytest` (no home, shell nologin: internal-sftp needs no shell), created on first use and
 * given TEST_PASSWORD each time, so the password tests do not depend on earlier runs.
 * Root never logs in (`AllowUsers ferrytest`).
 */

export const SSHD_PATH = process.env.FERRY_SSHD_PATH ?? '/usr/sbin/sshd'
export const SSH_KEYGEN_PATH = '/usr/bin/ssh-keygen'
export const TEST_USER = 'ferrytest'
/** the test user's password (a test fixture, set with chpasswd whenever a server starts) */
export const TEST_PASSWORD = 'ferry-sftp-Test-pw-1'

/** Why the real-server tests cannot run here, or null when they can. */
export function sshdUnavailable (): string | null {
  if (!fs.existsSync(SSHD_PATH)) return `${SSHD_PATH} not found. Install it with "apt-get install -y openssh-server" (.ci/run does).`
  if (!fs.existsSync(SSH_KEYGEN_PATH)) return `${SSH_KEYGEN_PATH} not found. Install it with "apt-get install -y openssh-client" (.ci/run does).`
  if (process.getuid?.() !== 0) return 'the SFTP tests start sshd for a test user, which needs root'
  return null
}

export interface SshdHandle {
  host: '127.0.0.1'
  port: number
  username: typeof TEST_USER
  password: typeof TEST_PASSWORD
  /** the server's host key fingerprint as `ssh-keygen -l` prints it: "SHA256:<base64 without padding>" */
  hostKeyFingerprint: string
  /** a directory the test user owns (mode 0755): serve files from here */
  root: string
  /** adds an OpenSSH public key line to the server's AuthorizedKeysFile */
  authorize (publicKey: string): Promise<void>
  /** writes a file under `root` (parents created), owned by the test user; returns its absolute path */
  write (relative: string, content: string | Buffer, mtime?: Date): Promise<string>
  /**
   * Freezes (SIGSTOP) every session process of this server, so the connections stay open and
   * silent: a stalled server. Returns the function that thaws them.
   */
  freezeSessions (): () => void
  /** Kills (SIGKILL) every session process of this server: each open connection drops at once. */
  dropSessions (): void
  /** sshd's stderr so far (for failure messages) */
  log (): string
  stop (): Promise<void>
}

/** A fresh key pair made by ssh-keygen (OpenSSH PEM private key, optionally passphrase-protected). */
export function generateKeyPair (type: 'ed25519' | 'rsa' | 'ecdsa', passphrase = ''): { privateKey: string, publicKey: string, fingerprint: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-sshkey-'))
  try {
    const file = path.join(dir, 'id')
    execFileSync(SSH_KEYGEN_PATH, ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', 'ferry-test', '-f', file])
    return {
      privateKey: fs.readFileSync(file, 'utf8'),
      publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim(),
      fingerprint: fingerprintOf(`${file}.pub`),
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** `ssh-keygen -l -E sha256 -f file` → "SHA256:…" (OpenSSH's own rendering, the reference for ours). */
function fingerprintOf (publicKeyFile: string): string {
  const out = execFileSync(SSH_KEYGEN_PATH, ['-l', '-E', 'sha256', '-f', publicKeyFile], { encoding: 'utf8' })
  const m = /(SHA256:[A-Za-z0-9+/]+)/.exec(out)
  if (m === null) throw new Error(`unexpected ssh-keygen -l output: ${out}`)
  return m[1]
}

function ensureTestUser (): { uid: number, gid: number } {
  const lookup = (): string | null => {
    try {
      return execFileSync('getent', ['passwd', TEST_USER], { encoding: 'utf8' })
    } catch {
      return null
    }
  }
  let entry = lookup()
  if (entry === null) {
    execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER])
    entry = lookup()
    if (entry === null) throw new Error(`useradd ${TEST_USER} did not create the user`)
  }
  execFileSync('chpasswd', { input: `${TEST_USER}:${TEST_PASSWORD}\n` })
  const [, , uid, gid] = entry.trim().split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/** Every process below `pid` (sshd's per-connection monitor and its unprivileged session child). */
function descendants (pid: number): number[] {
  const parentOf = new Map<number, number>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so split after ")"
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = []
  const walk = (p: number): void => {
    for (const [candidate, parent] of parentOf) {
      if (parent === p) {
        out.push(candidate)
        walk(candidate)
      }
    }
  }
  walk(pid)
  return out
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** Starts a private sshd; call stop() in afterAll. Throws when sshdUnavailable() says why it cannot. */
export async function startSshd (options: {
  /** how the server asks for the password: the `password` method, or only `keyboard-interactive` (through PAM) */
  passwordMethod?: 'password' | 'keyboard-interactive'
} = {}): Promise<SshdHandle> {
  const keyboard = options.passwordMethod === 'keyboard-interactive'
  const unavailable = sshdUnavailable()
  if (unavailable !== null) throw new Error(unavailable)
  const { uid, gid } = ensureTestUser()
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-sshd-'))
  // the test user must traverse into root/ (mkdtemp makes 0700 directories)
  await fsp.chmod(dir, 0o755)
  const root = path.join(dir, 'root')
  await fsp.mkdir(root, { mode: 0o755 })
  await fsp.chown(root, uid, gid)
  const hostKey = path.join(dir, 'ssh_host_ed25519_key')
  execFileSync(SSH_KEYGEN_PATH, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test-host', '-f', hostKey])
  const authorizedKeys = path.join(dir, 'authorized_keys')
  await fsp.writeFile(authorizedKeys, '', { mode: 0o644 })
  // sshd's privilege-separation directory (normally made by systemd's RuntimeDirectory)
  await fsp.mkdir('/run/sshd', { recursive: true, mode: 0o755 })

  const configFile = path.join(dir, 'sshd_config')
  const port = await freePort()
  await fsp.writeFile(configFile, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${keyboard ? 'no' : 'yes'}`,
    `KbdInteractiveAuthentication ${keyboard ? 'yes' : 'no'}`,
    // passwords are checked against /etc/shadow directly; keyboard-interactive on Linux needs PAM
    `UsePAM ${keyboard ? 'yes' : 'no'}`,
    'PermitRootLogin no',
    `AllowUsers ${TEST_USER}`,
    // the key files live in a temp dir owned by root, not in the user's home
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    // the tests open many short connections from one address
    'MaxStartups 100',
    'LogLevel VERBOSE',
    '',
  ].join('\n'))

  const child: ChildProcess = spawn(SSHD_PATH, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${stderr}`)), 10_000)
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk
      if (stderr.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`sshd exited with ${code}:\n${stderr}`))
    })
  })

  const handle: SshdHandle = {
    host: '127.0.0.1',
    port,
    username: TEST_USER,
    password: TEST_PASSWORD,
    hostKeyFingerprint: fingerprintOf(`${hostKey}.pub`),
    root,
    async authorize (publicKey) {
      await fsp.appendFile(authorizedKeys, publicKey.trim() + '\n')
    },
    async write (relative, content, mtime) {
      const file = path.join(root, relative)
      let parent = path.dirname(file)
      const made: string[] = []
      while (!fs.existsSync(parent)) {
        made.unshift(parent)
        parent = path.dirname(parent)
      }
      for (const d of made) {
        await fsp.mkdir(d, { mode: 0o755 })
        await fsp.chown(d, uid, gid)
      }
      await fsp.writeFile(file, content)
      await fsp.chown(file, uid, gid)
      if (mtime !== undefined) await fsp.utimes(file, mtime, mtime)
      return file
    },
    freezeSessions () {
      const pids = descendants(child.pid!)
      for (const pid of pids) process.kill(pid, 'SIGSTOP')
      return () => {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGCONT')
          } catch {
            // already gone
          }
        }
      }
    },
    dropSessions () {
      for (const pid of descendants(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    },
    log: () => stderr,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        // session processes outlive the listener (and a frozen one would never notice its client leave)
        handle.dropSessions()
        const exited = new Promise(resolve => child.once('exit', resolve))
        // the listener's PID: sshd -D does not fork, so it is the child itself
        process.kill(child.pid!, 'SIGTERM')
        await exited
      }
      await fsp.rm(dir, { recursive: true, force: true })
    },
  }
  return handle
}
