import crypto from 'node:crypto'

/**
 * SSH public key fingerprints in OpenSSH's format (`ssh-keygen -l`): "SHA256:" + the unpadded
 * base64 of the SHA-256 of the key's wire-format blob. This is what a server's administrator
 * reads off `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`, so it is what `hostKey` pins and
 * what a private key is shown as.
 */
export function fingerprintOf (publicKeyBlob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')
}

/** The algorithm name a wire-format public key blob starts with ("ssh-ed25519", "rsa-sha2-…", …), or "unknown". */
export function keyTypeOf (publicKeyBlob: Buffer): string {
  if (publicKeyBlob.length < 4) return 'unknown'
  const length = publicKeyBlob.readUInt32BE(0)
  if (length === 0 || length > 64 || publicKeyBlob.length < 4 + length) return 'unknown'
  const name = publicKeyBlob.subarray(4, 4 + length).toString('latin1')
  return /^[a-z0-9@.-]+$/i.test(name) ? name : 'unknown'
}

/** 32 bytes of SHA-256 are 43 base64 characters without padding. */
const HOST_KEY = /^SHA256:([A-Za-z0-9+/]{43})=?$/

/**
 * The canonical form of a configured host key fingerprint ("SHA256:<43 base64 chars>", padding
 * dropped, surrounding space ignored), or null when it is not one. MD5 (`MD5:aa:bb…`) and bare
 * base64 are refused: the prefix says which hash was meant, and OpenSSH has printed SHA256 by
 * default since 6.8.
 */
export function normaliseHostKey (text: string): string | null {
  const m = HOST_KEY.exec(text.trim())
  return m === null ? null : `SHA256:${m[1]}`
}
