import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary, requireBinary } from './binaries.mjs';
import { type MosquittoHandle, startMosquitto } from './mosquitto.js';
import { freePort } from './ports.js';

/** True when the `openssl` command line tool is available (certificates are generated at run time). */
export const hasOpenssl: boolean = binary('openssl') !== undefined;

export interface KeyPair {
  /** PEM file paths (readable by the mosquitto user). */
  certFile: string;
  keyFile: string;
  /** PEM contents. */
  cert: string;
  key: string;
}

/**
 * Throw-away PKI generated with openssl in a temp dir, nothing committed: a trusted CA and an unrelated one,
 * server certificates (good: localhost + 127.0.0.1; other: only broker.example; expired), client certificates
 * (good, signed by the other CA, expired).
 */
export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: string;
  readonly otherCa: string;
  readonly server: KeyPair;
  readonly serverOtherHost: KeyPair;
  readonly serverExpired: KeyPair;
  readonly client: KeyPair;
  readonly clientOtherCa: KeyPair;
  readonly clientExpired: KeyPair;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync(requireBinary('openssl'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Issues a leaf certificate; `days: -1` makes one whose validity ended before it began (expired). */
function issue(dir: string, name: string, ca: string, cn: string, ext: string, days: number): KeyPair {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\n`);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  ]);
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  chmodSync(keyFile, 0o644);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** Generates the test PKI (about 15 openssl runs, well under a second each). */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-pki-'));
  chmodSync(dir, 0o755);
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth';
  const clientExt = 'extendedKeyUsage=clientAuth';
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    otherCa: readFileSync(join(dir, 'other-ca.crt'), 'utf8'),
    server: issue(dir, 'server', 'ca', 'localhost', serverExt, 2),
    serverOtherHost: issue(
      dir,
      'server-other',
      'ca',
      'broker.example',
      'subjectAltName=DNS:broker.example\nextendedKeyUsage=serverAuth',
      2,
    ),
    serverExpired: issue(dir, 'server-expired', 'ca', 'localhost', serverExt, -1),
    client: issue(dir, 'client', 'ca', 'client-1', clientExt, 2),
    clientOtherCa: issue(dir, 'client-other', 'other-ca', 'intruder', clientExt, 2),
    clientExpired: issue(dir, 'client-expired', 'ca', 'client-old', clientExt, -1),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One mosquitto with a plain listener and four TLS listeners, each on its own port. */
export interface TlsMosquitto {
  readonly broker: MosquittoHandle;
  readonly pki: TestPki;
  /** Server certificate valid for localhost and 127.0.0.1. */
  readonly goodPort: number;
  /** Server certificate valid only for broker.example. */
  readonly otherHostPort: number;
  /** Expired server certificate. */
  readonly expiredPort: number;
  /** Good server certificate; a client certificate signed by the CA is required (mTLS). */
  readonly mtlsPort: number;
  stop(): Promise<void>;
}

function tlsListener(port: number, pair: KeyPair, caFile: string, extra: string[] = []): string[] {
  return [
    `listener ${port} 127.0.0.1`,
    `certfile ${pair.certFile}`,
    `keyfile ${pair.keyFile}`,
    `cafile ${caFile}`,
    ...extra,
  ];
}

/** Starts mosquitto with TLS listeners for every certificate case of `makePki()`. */
export async function startTlsMosquitto(extraConfig: string[] = []): Promise<TlsMosquitto> {
  const pki = makePki();
  const [goodPort, otherHostPort, expiredPort, mtlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ] as [number, number, number, number];
  const broker = await startMosquitto({
    extraConfig: [
      ...extraConfig,
      ...tlsListener(goodPort, pki.server, pki.caFile),
      ...tlsListener(otherHostPort, pki.serverOtherHost, pki.caFile),
      ...tlsListener(expiredPort, pki.serverExpired, pki.caFile),
      ...tlsListener(mtlsPort, pki.server, pki.caFile, ['require_certificate true', 'use_identity_as_username true']),
    ],
  });
  return {
    broker,
    pki,
    goodPort,
    otherHostPort,
    expiredPort,
    mtlsPort,
    async stop() {
      await broker.stop();
      pki.remove();
    },
  };
}
