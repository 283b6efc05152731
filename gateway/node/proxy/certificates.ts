// The interception CA and the leaf certificates Airlock presents for intercepted hosts. Keys are ECDSA P-256 from
// Node's crypto (native, about 0.4 ms for a key and a signed leaf); the certificates are encoded by der.ts.
// Leaves follow what strict verifiers ask for (Python 3.13's VERIFY_X509_STRICT, Apple's TLS rules): SAN only, EKU
// serverAuth, critical basicConstraints and keyUsage, authority and subject key identifiers, short validity.
import {
  createHash,
  createPrivateKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto'
import { isIP } from 'node:net'
import { promisify } from 'node:util'
import {
  bitString,
  boolean,
  children,
  contents,
  context,
  namedBits,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from './der.ts'

const generateEcKey = promisify(generateKeyPair)

export interface CertificateAuthority {
  certPem: string
  cert: X509Certificate
  key: KeyObject
  /** The CA's subject Name, byte for byte: every leaf's issuer. */
  subject: Buffer
  keyId: Buffer
}

export interface Leaf {
  certPem: string
  keyPem: string
  notAfter: Date
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Leaves start an hour early, for clients whose clocks run behind. */
const BACKDATE_MS = HOUR

const EXT = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  authorityKeyId: '2.5.29.35',
  subjectKeyId: '2.5.29.14',
}
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 }
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'

/** A new self-signed CA (key and certificate, PEM). */
export function createCa(opts: { commonName: string; validityDays: number; now?: Date }): {
  certPem: string
  keyPem: string
} {
  const now = opts.now ?? new Date()
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const subject = name([
    ['2.5.4.10', 'Airlock'],
    ['2.5.4.3', opts.commonName],
  ])
  const der = certificate({
    issuer: subject,
    subject,
    spki,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + opts.validityDays * DAY),
    signer: privateKey,
    extensions: [
      extension(EXT.basicConstraints, true, sequence(boolean(true), unsignedInteger(Buffer.from([0])))), // CA, pathLen 0
      extension(EXT.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(EXT.subjectKeyId, false, octetString(keyIdentifier(spki))),
    ],
  })
  return { certPem: pem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }
}

/** Loads a CA Airlock created; throws when the key does not belong to the certificate or the CA has expired. */
export function loadCa(certPem: string, keyPem: string, now = new Date()): CertificateAuthority {
  const cert = new X509Certificate(certPem)
  const key = createPrivateKey(keyPem)
  if (!cert.ca) throw new Error('the CA certificate is not a CA (basicConstraints CA:FALSE)')
  if (!cert.checkPrivateKey(key)) throw new Error('the CA key does not belong to the CA certificate')
  if (new Date(cert.validTo).getTime() <= now.getTime())
    throw new Error(`the CA certificate expired on ${cert.validTo}`)
  // Certificate → tbsCertificate → [version, serial, signature, issuer, validity, subject, spki, …]
  const tbs = children(children(cert.raw)[0]!)
  const subject = tbs[5]!
  const spki = tbs[6]!
  return { certPem, cert, key, subject, keyId: keyIdentifier(spki) }
}

/** A leaf for host names and IP addresses (the first names it), signed by the CA, valid from an hour ago for `validityMs`. */
export async function issueLeaf(
  ca: CertificateAuthority,
  hosts: string | string[],
  validityMs = DAY,
  now = new Date(),
): Promise<Leaf> {
  const names = typeof hosts === 'string' ? [hosts] : hosts
  const host = names[0]!
  const { privateKey, publicKey } = await generateEcKey('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const caEnd = new Date(ca.cert.validTo).getTime()
  const notAfter = new Date(Math.min(now.getTime() + validityMs, caEnd))
  const san = names.map((h) =>
    isIP(h) ? context(7, false, ipBytes(h)) : context(2, false, Buffer.from(checkedHostName(h), 'ascii')),
  )
  const der = certificate({
    issuer: ca.subject,
    // Clients match on the SAN; the CN is only for people reading the certificate (and is capped at 64 characters).
    subject: name(
      host.length <= 64
        ? [
            ['2.5.4.10', 'Airlock'],
            ['2.5.4.3', host],
          ]
        : [['2.5.4.10', 'Airlock']],
    ),
    spki,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signer: ca.key,
    extensions: [
      extension(EXT.basicConstraints, true, sequence()),
      extension(EXT.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
      extension(EXT.extKeyUsage, false, sequence(oid(SERVER_AUTH))),
      extension(EXT.subjectAltName, false, sequence(...san)),
      extension(EXT.authorityKeyId, false, sequence(context(0, false, ca.keyId))),
      extension(EXT.subjectKeyId, false, octetString(keyIdentifier(spki))),
    ],
  })
  return {
    certPem: pem('CERTIFICATE', der),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    notAfter,
  }
}

/** Lower-case LDH labels (RFC 1123), what a dNSName SAN may hold; anything else is refused before signing. */
export function checkedHostName(host: string): string {
  const h = host.toLowerCase()
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
  if (h.length > 253 || !h.split('.').every((l) => label.test(l)))
    throw new Error(`not a host name: ${JSON.stringify(host.slice(0, 80))}`)
  return h
}

interface Template {
  issuer: Buffer
  subject: Buffer
  spki: Buffer
  notBefore: Date
  notAfter: Date
  signer: KeyObject
  extensions: Buffer[]
}

function certificate(t: Template): Buffer {
  const { algorithm, digest } = signatureAlgorithm(t.signer)
  const serial = randomBytes(16)
  serial[0]! &= 0x7f // positive, and at most 20 octets (RFC 5280 §4.1.2.2)
  serial[0]! |= 0x01 // never a leading zero that DER would strip
  const tbs = sequence(
    context(0, true, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(serial),
    algorithm,
    t.issuer,
    sequence(time(t.notBefore), time(t.notAfter)),
    t.subject,
    t.spki,
    context(3, true, sequence(...t.extensions)),
  )
  return sequence(tbs, algorithm, bitString(sign(digest, tbs, t.signer)))
}

function signatureAlgorithm(key: KeyObject): { algorithm: Buffer; digest: string } {
  const type = key.asymmetricKeyType
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return { algorithm: sequence(oid('1.2.840.10045.4.3.2')), digest: 'sha256' }
    if (curve === 'secp384r1') return { algorithm: sequence(oid('1.2.840.10045.4.3.3')), digest: 'sha384' }
  }
  if (type === 'rsa') return { algorithm: sequence(oid('1.2.840.113549.1.1.11'), nullValue()), digest: 'sha256' }
  throw new Error(
    `unsupported CA key type ${type}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}`,
  )
}

function name(attributes: [string, string][]): Buffer {
  return sequence(...attributes.map(([type, value]) => set(sequence(oid(type), utf8String(value)))))
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value))
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const bits = contents(children(spki)[1]!).subarray(1)
  return createHash('sha1').update(bits).digest()
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number))
  let [head = '', tail = ''] = ip.split('::') as [string, string?]
  if (!ip.includes('::')) [head, tail] = [ip, '']
  const groups = (s: string) =>
    s ? s.split(':').flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [parseInt(g, 16)])) : []
  const h = groups(head)
  const t = groups(tail)
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t]
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

function ipv4Groups(v4: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number)
  return [(a << 8) | b, (c << 8) | d]
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`
}
