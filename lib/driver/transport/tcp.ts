import net from 'node:net';
import tls from 'node:tls';
import { MqttConnectError } from '../errors.js';
import { CLIENT_DEFAULTS } from '../options.js';
import type { MqttClientOptions, MqttTransportStream } from '../types.js';
import { connectErrorFrom } from './errors.js';

/**
 * Opens TCP (`mqtt://`, port 1883) or TLS (`mqtts://`, port 8883). TLS verifies the broker certificate by default
 * (Node's `rejectUnauthorized: true`); `options.tls` is passed to `tls.connect` (ca, cert, key, servername, ...).
 * SNI is the URL host name unless it is an IP address or `tls.servername` overrides it. Rejects with
 * `MqttConnectError` (the socket or TLS error as `cause`); also when the TCP connect or TLS handshake takes longer
 * than `connectTimeout`.
 */
export function openTcp(url: URL, options: MqttClientOptions): Promise<MqttTransportStream> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'mqtts:';
  const port = Number(url.port || (secure ? 8883 : 1883));
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    try {
      socket = secure
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls })
        : net.connect({ host, port });
    } catch (err) {
      // Invalid TLS options (a malformed key or CA) throw synchronously.
      reject(connectErrorFrom(err, url));
      return;
    }
    socket.setNoDelay?.(true);
    const timeout = setTimeout(() => {
      socket.destroy();
      const what = secure ? 'TCP connect and TLS handshake' : 'TCP connect';
      reject(new MqttConnectError(`${what} to ${url.host} did not complete within connectTimeout`));
    }, options.connectTimeout ?? CLIENT_DEFAULTS.connectTimeout);
    const onError = (err: Error) => {
      clearTimeout(timeout);
      socket.destroy();
      reject(connectErrorFrom(err, url, secure));
    };
    socket.on('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timeout);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
