import { describe, expect, it } from '@jest/globals';
import { MqttError } from '../../lib/driver/index.js';
import {
  MqttAsyncClientClosedError,
  MqttAsyncError,
  MqttAsyncPatternError,
  MqttAsyncPayloadError,
  MqttAsyncRequestTimeoutError,
} from '../../lib/nest/index.js';
import { MqttAsyncRpcError } from '../../lib/testing/index.js';

describe('Nest-layer errors', () => {
  it.each([
    ['MqttAsyncClientClosedError', new MqttAsyncClientClosedError()],
    ['MqttAsyncRequestTimeoutError', new MqttAsyncRequestTimeoutError('t', 5)],
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
});
