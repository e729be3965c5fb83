import { describe, expect, it } from '@jest/globals';
import { MqttConnectError, MqttError } from '../../lib/driver/index.js';
import { connectFailure } from '../../lib/nest/errors.js';
import {
  MqttAsyncClientClosedError,
  MqttAsyncError,
  MqttAsyncNotConnectedError,
  MqttAsyncPatternError,
  MqttAsyncPayloadError,
  MqttAsyncPublishTimeoutError,
  MqttAsyncRequestTimeoutError,
  MqttAsyncServerClosedError,
} from '../../lib/nest/index.js';
import { MqttAsyncRpcError } from '../../lib/testing/index.js';

describe('Nest-layer errors', () => {
  it.each([
    ['MqttAsyncClientClosedError', new MqttAsyncClientClosedError()],
    ['MqttAsyncRequestTimeoutError', new MqttAsyncRequestTimeoutError('t', 5)],
    ['MqttAsyncServerClosedError', new MqttAsyncServerClosedError()],
    ['MqttAsyncNotConnectedError', new MqttAsyncNotConnectedError('reconnecting', 'offline')],
    ['MqttAsyncPublishTimeoutError', new MqttAsyncPublishTimeoutError('late')],
    ['MqttAsyncPatternError', new MqttAsyncPatternError('bad')],
    ['MqttAsyncPayloadError', new MqttAsyncPayloadError('bad', { cause: new Error('x') })],
    ['MqttAsyncRpcError', new MqttAsyncRpcError('t', { message: 'no' })],
  ])('%s shares the MqttAsyncError / MqttError base and keeps its name', (name, error) => {
    expect(error).toBeInstanceOf(MqttAsyncError);
    expect(error).toBeInstanceOf(MqttError);
    expect(error.name).toBe(name);
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new MqttAsyncPayloadError('outer', { cause }).cause).toBe(cause);
  });

  it('connectFailure() keeps a connect error typed, with its code and reason code at the top level', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const driverError = new MqttConnectError('Cannot reach mqtt://h:1', { cause: socket, code: 'ECONNREFUSED' });
    const wrapped = connectFailure('ClientMqttAsync', 'mqtt://u:secret@h:1', driverError);
    expect(wrapped).toBeInstanceOf(MqttConnectError);
    expect(wrapped.code).toBe('ECONNREFUSED');
    expect(wrapped.cause).toBe(driverError);
    expect(wrapped.message).toBe('ClientMqttAsync could not connect to mqtt://***@h:1: Cannot reach mqtt://h:1');
    const refused = connectFailure(
      'ServerMqttAsync',
      'mqtt://h:1',
      new MqttConnectError('Refused', { reasonCode: 0x87 }),
    );
    expect(refused.reasonCode).toBe(0x87);
    expect(refused.message.match(/reason code/g)).toHaveLength(1);
    const other = connectFailure('ServerMqttAsync', 'mqtt://h:1', socket);
    expect(other).toBeInstanceOf(MqttConnectError);
    expect(other.code).toBe('ECONNREFUSED');
  });
});
