import net from 'node:net';
import tls from 'node:tls';
import { MqttConnectError } from '../errors.js';
import type { MqttClientOptions, MqttTransportStream } from '../types.js';

/** Opens TCP (`mqtt://`, port 1883) or TLS (`mqtts://`, port 8883, verification on, SNI = hostname). */
export function openTransport(url: URL, options: MqttClientOptions): Promise<MqttTransportStream> {
  if (options.transport) return options.transport(url, options);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'mqtts:';
  if (!secure && url.protocol !== 'mqtt:') {
    return Promise.reject(new MqttConnectError(`Unsupported URL scheme ${url.protocol}: use mqtt:// or mqtts://`));
  }
  const port = Number(url.port || (secure ? 8883 : 1883));
  return new Promise((resolve, reject) => {
    const event = secure ? 'secureConnect' : 'connect';
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls })
      : net.connect({ host, port });
    socket.setNoDelay?.(true);
    const onError = (err: Error) =>
      reject(new MqttConnectError(`Cannot reach ${url.host}: ${err.message}`, { cause: err }));
    socket.once('error', onError);
    socket.once(event, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
