import { MqttConnectError } from '../errors.js';

/** TLS failures that no retry can fix: the certificate or the TLS configuration must change. */
const PERMANENT_TLS_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
]);

function isErrorLike(e: unknown): e is Error {
  return typeof e === 'object' && e !== null && typeof (e as Error).message === 'string';
}

/** The `code` of an error or of any error in its `cause` chain. */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  // Duck-typed, not `instanceof Error`: errors can come from another realm (vm contexts, test runners).
  for (let e = err, depth = 0; isErrorLike(e) && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

function isPermanentCode(code: string): boolean {
  return (
    PERMANENT_TLS_CODES.has(code) ||
    /CERT/.test(code) ||
    /^ERR_SSL_.*ALERT/.test(code) ||
    /^ERR_OSSL_/.test(code) ||
    code === 'ERR_TLS_INVALID_CONTEXT'
  );
}

/**
 * True when a connect attempt failed for a reason a retry cannot fix: a certificate error (expired, unknown CA,
 * wrong host name, client certificate refused) or invalid TLS options. Reconnecting stops on these.
 */
export function isPermanentTransportError(err: unknown): boolean {
  return codesOf(err).some(isPermanentCode);
}

/** What to do about a TLS failure, by OpenSSL/Node error code. */
function advice(code: string, host: string): string | undefined {
  if (code === 'CERT_HAS_EXPIRED')
    return `The broker's TLS certificate has expired: renew it (or check this machine's clock)`;
  if (code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED')
    return 'The broker rejected our client certificate as expired: renew tls.cert';
  if (code === 'CERT_NOT_YET_VALID') return `The broker's TLS certificate is not valid yet: check the clocks`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH')
    return `The broker's TLS certificate is not valid for host "${host}": connect with a host name the certificate lists, or set tls.servername to one`;
  if (
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'CERT_SIGNATURE_FAILURE'
  )
    return `The broker's TLS certificate is not signed by a trusted CA: pass the broker's CA certificate as tls.ca`;
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    return 'The broker requires a client certificate: pass tls.cert and tls.key';
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/.test(code))
    return 'The broker rejected our client certificate: check that tls.cert/tls.key are signed by a CA the broker trusts and not expired';
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')
    return 'The TLS handshake was refused: the broker may require a client certificate (tls.cert, tls.key) or other TLS settings';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return 'The port does not speak TLS: use mqtt:// (or ws://) for a plain listener, or the broker TLS port';
  if (/^ERR_OSSL_|^ERR_INVALID_ARG|^ERR_TLS_INVALID_CONTEXT/.test(code))
    return 'The TLS options are invalid (ca, cert, key, passphrase ...): check them';
  return undefined;
}

/**
 * Wraps a transport failure (socket, TLS or WebSocket error before CONNACK) in an `MqttConnectError` whose
 * message says what went wrong and what to do; the original error is the `cause`. `tlsHandshake`: the error ended
 * a TLS handshake (a reset there usually means a plain port).
 */
export function connectErrorFrom(err: unknown, url: URL, tlsHandshake = false): MqttConnectError {
  if (err instanceof MqttConnectError) return err;
  const error = isErrorLike(err) ? err : new Error(String(err));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  for (const code of codesOf(error)) {
    const text = advice(code, host);
    if (text) return new MqttConnectError(`${text} (${url.protocol}//${url.host}: ${code})`, { cause: error, code });
  }
  if (tlsHandshake || /before secure TLS connection/.test(error.message)) {
    return new MqttConnectError(
      `The TLS handshake with ${url.host} was cut off: is this the broker's TLS port? (${error.message})`,
      { cause: error, code: codesOf(error)[0] },
    );
  }
  const code = codesOf(error)[0];
  const hint = code === undefined ? undefined : NETWORK_ADVICE[code];
  return new MqttConnectError(`Cannot reach ${url.protocol}//${url.host}: ${error.message}${hint ? `; ${hint}` : ''}`, {
    cause: error,
    code,
  });
}

/** What to do about the socket failures seen most when a broker cannot be reached. */
const NETWORK_ADVICE: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections there: check that the broker runs and the URL has its host and port',
  ENOTFOUND: 'the host name does not resolve: check the host in the URL',
  EAI_AGAIN: 'the host name could not be resolved (DNS): check the host in the URL and the DNS',
  ETIMEDOUT: 'the host does not answer: check the URL and any firewall between here and the broker',
  EHOSTUNREACH: 'the host is unreachable: check the URL and the network',
  ENETUNREACH: 'the network is unreachable: check the URL and the network',
  ECONNRESET: "the connection was reset: check that the port is the broker's MQTT (not TLS or WebSocket) port",
};
